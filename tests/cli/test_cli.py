"""The command line end to end: exit codes, summaries, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from odexport import COLUMNS, mini_practice, write_export, write_table
from typer.testing import CliRunner

from pms_bridge.cli.main import app

runner = CliRunner()


def invoke(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_teaches() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for word in ("demo", "run", "Exit codes", "quarantined"):
        assert word in result.output
    run_help = invoke("run", "--help").output
    assert "--as-of" in run_help and "--config" in run_help and "[source]" in run_help


def test_run_prints_a_summary_and_exits_0(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    result = invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "appointment" in out and "Data as of: 2026-02-27 17:00" in out and "Checked as of: 2026-03-02 08:00" in out
    assert "Result: OK" in out


def test_partial_run_exits_4_and_quarantine_lists_rows(tmp_path: Path, write_config) -> None:
    tables = mini_practice()
    tables["appointment"][0]["AptDateTime"] = "garbage"
    config = write_config(write_export(tmp_path / "exports", tables))
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 4
    assert "1 row(s) quarantined" in result.output
    listed = invoke("quarantine", "--config", str(config), "--json")
    row = json.loads(listed.output.strip())
    assert row["source"] == "appointment.csv" and row["line"] == 2 and row["field"] == "start"


def test_missing_column_exits_4_with_a_clear_message(tmp_path: Path, write_config) -> None:
    export = write_export(tmp_path / "exports")
    write_table(export, "patient", mini_practice()["patient"], columns=[c for c in COLUMNS["patient"] if c != "PatStatus"])
    result = invoke("run", "--config", str(write_config(export)))
    assert result.exit_code == 4
    assert "patient.csv: missing column(s) PatStatus (for status)" in result.output.replace("\n", "")


def test_bad_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[practice]\nname = "x"\ntimezone = "Mars/Base"\n', encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "practice.timezone" in result.output and "source: Field required" in result.output


def test_bad_mapping_exits_2(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"), mapping="dentrix-9000")
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2 and "unknown mapping 'dentrix-9000'" in result.output


def test_bad_as_of_exits_2(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    result = runner.invoke(app, ["run", "--config", str(config), "--as-of", "next tuesday"])
    assert result.exit_code == 2 and "--as-of" in result.output


def test_unreachable_source_exits_3(tmp_path: Path, write_config) -> None:
    result = runner.invoke(app, ["run", "--config", str(write_config(tmp_path / "nowhere"))])
    assert result.exit_code == 3 and "Source unreachable" in result.output


def test_api_connector_without_its_keys_exits_2(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("OD_DEV", raising=False)
    config = tmp_path / "api.toml"
    config.write_text(
        '[practice]\nname = "x"\ntimezone = "UTC"\n[source]\nconnector = "opendental-api"\n'
        'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n[store]\npath = "s.sqlite"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2 and "environment variable OD_DEV" in result.output


def test_runs_lists_history(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    invoke("run", "--config", str(config))
    invoke("run", "--config", str(config))
    result = invoke("runs", "--config", str(config))
    assert result.exit_code == 0 and result.output.count(" ok ") + result.output.count("│ ok") >= 2


def test_schema_commands_print_json() -> None:
    mapping = json.loads(invoke("schema", "mapping").output)
    assert mapping["title"] == "MappingFile"
    config = json.loads(invoke("schema", "config").output)
    assert "practice" in config["properties"]


def test_console_script_is_installed(tmp_path: Path) -> None:
    """The `pms-bridge` entry point works as a separate process (python -m too)."""
    result = subprocess.run(
        [sys.executable, "-m", "pms_bridge", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("pms-bridge ")


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = invoke("demo", "--output", str(out), "--patients", "120")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Result: OK" in text and "Checked as of: 2026-03-02 08:00" in text
    assert "planted.json" in text and "practice.toml" in text
    assert (out / "exports" / "planted.json").is_file()
    assert (out / "state" / "sample-family-dental.sqlite").stat().st_mode & 0o077 == 0
    again = invoke("demo", "--output", str(out), "--patients", "120")  # a second demo starts afresh

    def table(output: str) -> str:
        return output[output.index("Sync") : output.index("Took")]

    assert again.exit_code == 0 and table(again.output) == table(text)


def test_sample_writes_a_group(tmp_path: Path) -> None:
    result = invoke("sample", "--output", str(tmp_path / "group"), "--locations", "2", "--patients", "40")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "group").iterdir()) == ["location-01", "location-02"]


def test_check_prints_findings_as_json(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00")
    result = invoke("check", "--config", str(config), "--as-of", "2026-03-02T08:00", "--format", "json")
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)
    assert findings, "the mini practice has problems (e.g. a new patient without x-rays)"
    for f in findings:
        assert {"key", "rule", "name", "severity", "role", "patient_id", "appointment_id", "title", "detail",
                "due", "fix"} <= set(f)
    assert len({f["key"] for f in findings}) == len(findings)


def test_check_on_an_empty_store_says_to_run_first(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    result = runner.invoke(app, ["check", "--config", str(config)])
    assert result.exit_code == 0 and "run `pms-bridge run" in result.output


def test_run_summary_counts_findings_per_rule(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    result = invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00")
    assert "Checks as of 2026-03-02 08:00" in result.output
    for code in ("SCH001", "REF004"):
        assert code in result.output
    runs = json.loads(invoke("runs", "--config", str(config), "--json").output)
    assert set(runs[0]["summary"]["findings"]) >= {"SCH001", "REF004"}


def test_rules_command_formats() -> None:
    table = invoke("rules")
    assert table.exit_code == 0 and "REF001" in table.output
    data = json.loads(invoke("rules", "--format", "json").output)
    assert [r["code"] for r in data][:2] == ["SCH001", "SCH002"]
    assert data[0]["settings"]["window_days"]["default"] == 14
    assert invoke("rules", "--format", "markdown").output.startswith("# Rule reference")
    assert runner.invoke(app, ["rules", "--format", "xml"]).exit_code == 2


def test_tasks_export_dismiss_and_history(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    invoke("run", "--config", str(config), "--as-of", "2026-03-02T08:00")
    tasks = json.loads(invoke("tasks", "--config", str(config), "--format", "json").output)
    assert tasks and all(t["status"] == "open" for t in tasks)
    key = tasks[0]["key"]

    result = invoke("tasks", "dismiss", key, "--config", str(config), "--reason", "handled at the desk")
    assert result.exit_code == 0 and "Dismissed" in result.output
    still_open = json.loads(invoke("tasks", "--config", str(config)).output)
    assert key not in {t["key"] for t in still_open} and len(still_open) == len(tasks) - 1
    everything = json.loads(invoke("tasks", "--config", str(config), "--status", "all").output)
    assert next(t for t in everything if t["key"] == key)["reason"] == "handled at the desk"

    history = invoke("tasks", "history", key, "--config", str(config))
    assert "dismissed" in history.output and "new finding" in history.output
    assert runner.invoke(app, ["tasks", "dismiss", "NOPE:x:1", "--config", str(config), "--reason", "x"]).exit_code == 2

    csv_text = invoke("tasks", "--config", str(config), "--format", "csv", "--role", "patient").output
    assert csv_text.splitlines()[0].startswith("key,rule,name,status")
    assert all(",patient," in line for line in csv_text.splitlines()[1:])


def test_tasks_html_file_is_owner_only(tmp_path: Path, write_config) -> None:
    config = write_config(write_export(tmp_path / "exports"))
    invoke("run", "--config", str(config))
    target = tmp_path / "lists" / "tasks.html"
    result = invoke("tasks", "--config", str(config), "--format", "html", "--output", str(target))
    assert result.exit_code == 0
    assert target.stat().st_mode & 0o777 == 0o600
    assert "<html" in target.read_text().lower()


def test_schema_tasks_is_valid_json_schema() -> None:
    import jsonschema

    schema = json.loads(invoke("schema", "tasks").output)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "array"


def test_wrong_customer_key_exits_2_without_traceback_or_key(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from fakes.opendental import FakeOpenDental

    from pms_bridge.cli.demo import DEMO_AS_OF
    from pms_bridge.sample import generate_practice

    generate_practice(tmp_path / "exports", as_of=DEMO_AS_OF, patients=40)
    fake = FakeOpenDental.from_export(tmp_path / "exports")
    monkeypatch.setenv("OD_DEV", "dev-key")
    monkeypatch.setenv("OD_CUST", "not-the-SECRET-key")
    config = tmp_path / "api.toml"
    config.write_text(
        '[practice]\nname = "x"\ntimezone = "America/Chicago"\n[source]\nconnector = "opendental-api"\n'
        'mode = "service"\nbase_url = "https://api.opendental.com/api/v1"\n'
        'developer_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n[store]\npath = "s.sqlite"\n',
        encoding="utf-8",
    )
    with fake.mock():
        result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "refused the keys (401)" in result.output and "customer key" in result.output
    assert "Traceback" not in result.output and "SECRET" not in result.output


def test_labels_nothing_maps_are_listed_in_the_summary_and_in_runs(tmp_path: Path, write_config) -> None:
    from odexport import mini_practice

    tables = mini_practice()
    tables["definition"].append({"DefNum": "42", "Category": "38", "ItemName": "Blue folder"})
    tables["insverify"][0]["DefNum"] = "42"
    config = write_config(write_export(tmp_path / "exports", tables))
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 0, result.output  # a label to map is not a partial run
    flat = " ".join(result.output.split())
    assert "Labels nothing maps" in flat and "mapping.maps.verify_result: 'Blue folder' (1 row)" in flat
    assert "[mapping.maps.verify_result]" in flat
    listed = " ".join(invoke("runs", "--config", str(config)).output.split())
    assert "Run 1:" in listed and "mapping.maps.verify_result: 'Blue folder' (1 row)" in listed
    (run,) = json.loads(invoke("runs", "--config", str(config), "--json").output)
    assert run["summary"]["unmapped_labels"] == {"mapping.maps.verify_result": {"Blue folder": 1}}
