from pms_bridge.cli.main import app

app()
