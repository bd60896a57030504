"""Privacy as a property the tests prove: no patient data in logs, messages or reports;
owner-only files; API keys nowhere but the request header."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from pathlib import Path

import pytest
from fakes.opendental import FakeOpenDental
from typer.testing import CliRunner

from pms_bridge import logs
from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.cli.main import app
from pms_bridge.config import load_config
from pms_bridge.connectors.api_client import ApiConfigError, RetryPolicy
from pms_bridge.logs import configure_logging
from pms_bridge.pipeline import run_sync
from pms_bridge.sample import generate_practice
from pms_bridge.store import Store

# Distinctive synthetic tokens planted where patient data lives.
LAST, FIRST, BAD = "Qphitokenlast", "Qphitokenfirst", "Qphitokenbadvalue"
DOB, PHONE, SUBSCRIBER = "1913-07-19", "(555) 867-5309", "PHISUB998877"
EMAIL = "qphi@example.invalid"
TOKENS = [LAST, FIRST, BAD, DOB, "867-5309", SUBSCRIBER, EMAIL]
DEV_KEY, CUST_KEY = "dev-KEYTOKEN-123", "cust-KEYTOKEN-456"


def _rewrite(path: Path, change) -> None:  # noqa: ANN001
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    for i, row in enumerate(rows):
        change(i, row)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample practice with PHI tokens planted in names, birth dates, phones and subscriber ids,
    and rows that fail validation while carrying them.

    The tokens go on every patient and every subscriber (not a slice of them), so the patients the
    rules make tasks about carry them: the task lists, their details and the logs about those tasks
    are where redaction is really exercised (`_scenario` checks that such tasks were written)."""
    folder = tmp_path_factory.mktemp("phi") / "exports"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=5, patients=80)

    def patient(i: int, row: dict) -> None:
        row.update(LName=LAST, FName=FIRST, Preferred=FIRST, Birthdate=DOB, WirelessPhone=PHONE, Email=EMAIL)
        if i == 41:
            row.update(Birthdate=BAD, LName=LAST)  # quarantined, with the bad value in the row
        if i == 42:
            row.update(PatStatus=f"{LAST} {PHONE}")  # an "unknown status" that is really patient data

    _rewrite(folder / "patient.csv", patient)
    _rewrite(folder / "inssub.csv", lambda i, row: row.update(SubscriberID=SUBSCRIBER))
    return folder


def _planted_patients(folder: Path) -> set[str]:
    with (folder / "patient.csv").open(newline="", encoding="utf-8") as fh:
        return {row["PatNum"] for row in csv.DictReader(fh) if row["LName"] == LAST and row["Birthdate"] == DOB}


def _assert_tasks_about_planted_patients(config: Path, folder: Path) -> None:
    """The redaction is only exercised if patients carrying the tokens are in the task lists."""
    tasks = json.loads((config.parent / "out" / "tasks.json").read_text())
    tasked = {t["patient_id"] for t in tasks} & _planted_patients(folder)
    assert len(tasked) >= 10, f"only {len(tasked)} planted patients have tasks"
    assert len({t["rule"] for t in tasks if t["patient_id"] in tasked}) >= 3  # several rules' texts


def _leaks(text: str) -> list[str]:
    """Tokens found anywhere: inside sentences, any case, split across "Last, First" or "First Last"."""
    lowered = text.lower()
    found = [t for t in TOKENS if t.lower() in lowered]
    found += [m.group(0) for m in re.finditer(r"qphitoken\w*", lowered)]  # any planted name, even cut short
    return found


def api_office(folder: Path, customer_key: str = CUST_KEY) -> FakeOpenDental:
    """The same practice behind the API. A database column cannot hold the planted bad values,
    so the API serves those two rows repaired (their names and phones stay planted)."""
    fake = FakeOpenDental.from_export(folder, developer_key=DEV_KEY, customer_key=customer_key)
    with (folder / "patient.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows[41:43]:
        fake.touch("patient", row["PatNum"], Birthdate="1990-01-01", PatStatus="0")
    return fake


def _config(tmp: Path, folder: Path, *, api: bool, extra: str = "") -> Path:
    source = (
        'connector = "opendental-api"\nmode = "cloud"\ndeveloper_key_env = "OD_DEV"\ncustomer_key_env = "OD_CUST"\n'
        if api else f'connector = "csv"\nmapping = "opendental"\npath = "{folder.as_posix()}"\n'
    )
    config = tmp / ("api.toml" if api else "csv.toml")
    config.write_text(
        f'[practice]\nname = "Privacy Dental"\ntimezone = "America/Chicago"\n[source]\n{source}'
        f'[store]\npath = "state/{config.stem}.sqlite"\n'
        '[[sinks]]\ntype = "json"\npath = "out/tasks.json"\n[[sinks]]\ntype = "csv"\npath = "out/tasks.csv"\n' + extra
    )
    return config


def _everything_written(config: Path) -> str:
    """Run reports, quarantine and every export a run left (the HTML list, which shows names, aside)."""
    cfg = load_config(config)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    text = json.dumps([r.summary for r in store.list_runs(50)], default=str)
    text += json.dumps([q.__dict__ for q in store.quarantined()])
    store.close()
    for path in (config.parent / "out").glob("*"):
        if path.suffix != ".html":
            text += path.read_text()
    return text


def _scenario(planted: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Failing rows, retries and a crash, at debug level; returns every log line and message."""
    monkeypatch.setenv("OD_DEV", DEV_KEY)
    monkeypatch.setenv("OD_CUST", CUST_KEY)
    buf = io.StringIO()
    configure_logging(2, json_lines=True, stream=buf)
    csv_config = _config(tmp, planted, api=False)
    report = run_sync(load_config(csv_config), DEMO_AS_OF, check=True)
    assert report.quarantined >= 2  # the planted bad rows were really read and refused
    _assert_tasks_about_planted_patients(csv_config, planted)

    fake = api_office(planted)
    fake.set_fault_rate(0.2, seed=2)  # retries
    api_config = _config(tmp, planted, api=True)
    with fake.mock():
        run_sync(load_config(api_config), DEMO_AS_OF, check=True,
                 http={"sleep": lambda s: None, "retry": RetryPolicy(attempts=8, initial=0, maximum=0)})
    _assert_tasks_about_planted_patients(api_config, planted)

    def crash(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a bug whose message carries patient data
        raise ValueError(f"cannot check patient {LAST}, {FIRST} born {DOB} phone {PHONE} sub {SUBSCRIBER}")

    monkeypatch.setattr("pms_bridge.pipeline.run.check_store", crash)
    monkeypatch.setattr("pms_bridge.cli.main.configure_logging", lambda v: configure_logging(v, True, buf))
    result = CliRunner().invoke(app, ["run", "--config", str(csv_config), "-vv"])
    assert result.exit_code == 1 and "Unexpected error (ValueError" in result.output
    return buf.getvalue() + result.output + _everything_written(csv_config) + _everything_written(api_config)


def test_no_patient_data_in_logs_messages_or_reports(planted: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    text = _scenario(planted, tmp_path, monkeypatch)
    assert '"event": "row.quarantined"' in text and '"event": "crashed"' in text  # the risky events happened
    leaked = [t for t in TOKENS if t in text]
    assert leaked == [], f"patient data leaked: {leaked}"
    assert _leaks(text) == [], f"patient data leaked: {_leaks(text)}"


def test_negative_control_without_the_redaction_processor_data_leaks(planted: Path, tmp_path: Path,
                                                                     monkeypatch) -> None:  # noqa: ANN001
    """Proves the test above can fail: with redaction off, the debug log carries the bad row's value."""
    monkeypatch.setattr(logs, "redact_phi", lambda _l, _m, event: event)
    text = _scenario(planted, tmp_path, monkeypatch)
    assert BAD in text


def test_every_file_the_tool_creates_is_owner_only(tmp_path: Path) -> None:
    runner = CliRunner()
    demo = tmp_path / "demo"
    assert runner.invoke(app, ["demo", "--output", str(demo), "--patients", "60"]).exit_code == 0
    config = demo / "practice.toml"
    for fmt in ("json", "csv", "html"):
        out = tmp_path / "exports-out" / f"tasks.{fmt}"
        assert runner.invoke(app, ["tasks", "--config", str(config), "--format", fmt, "--output", str(out)]).exit_code == 0
    assert runner.invoke(app, ["sample", "--output", str(tmp_path / "group"), "--locations", "2",
                               "--patients", "30"]).exit_code == 0
    created = [p for p in tmp_path.rglob("*") if p.name != "practice.toml"]
    assert len(created) > 40
    for path in created:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(tmp_path)} is {oct(mode)}"


def test_api_keys_appear_nowhere_but_the_request(planted: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("OD_DEV", DEV_KEY)
    monkeypatch.setenv("OD_CUST", CUST_KEY)
    buf = io.StringIO()
    configure_logging(2, json_lines=True, stream=buf)
    config = _config(tmp_path, planted, api=True)
    fake = api_office(planted)
    fake.set_fault_rate(0.3, seed=9)
    with fake.mock():
        run_sync(load_config(config), DEMO_AS_OF, check=True,
                 http={"sleep": lambda s: None, "retry": RetryPolicy(attempts=10, initial=0, maximum=0)})
    # An HTTP error that carries the request: a key the office revoked.
    wrong = api_office(planted, customer_key="another-key")
    messages = []
    with wrong.mock(), pytest.raises(ApiConfigError) as exc:
        run_sync(load_config(config), DEMO_AS_OF, check=True, http={"sleep": lambda s: None})
    messages += [str(exc.value), repr(exc.value), str(exc.value.__cause__), str(exc.value.__context__)]
    with wrong.mock():  # the CLI's message for the revoked key; served by the fake, never the real host
        result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2 and "refused the keys (401)" in result.output
    assert wrong.requests, "the CLI run reached the fake office"
    messages.append(result.output)
    store_bytes = b"".join(p.read_bytes() for p in (tmp_path / "state").iterdir())
    everything = buf.getvalue() + "".join(messages) + _everything_written(config)
    for key in (DEV_KEY, CUST_KEY, "KEYTOKEN"):
        assert key not in everything and key.encode() not in store_bytes
    assert os.environ["OD_CUST"] == CUST_KEY  # the keys were really in play
