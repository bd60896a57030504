"""`pms-bridge report`: help, html and json output from a run's store, weeks and targets from the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pms_bridge.cli.main import app

runner = CliRunner()
AS_OF = "2026-03-02T08:00"
KPI_KEYS = [
    "new_patient_appointments", "first_visit_median_days", "first_visit_within", "no_show_rate",
    "insurance_verified", "forms_on_file", "radiographs_on_file", "treatment_acceptance",
    "tasks_opened_resolved", "tasks_on_time", "open_task_age",
]


def invoke(*args: str):  # noqa: ANN201
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample practice after one run (its config has a report sink); shared: never change it."""
    from pms_bridge.cli.demo import DEMO_AS_OF, prepare_demo
    from pms_bridge.config import load_config
    from pms_bridge.pipeline import run_sync

    config = prepare_demo(tmp_path_factory.mktemp("report-demo"), patients=120, seed=7)
    run_sync(load_config(config), DEMO_AS_OF, check=True)
    return config


def test_help_teaches() -> None:
    result = invoke("report", "--help")
    assert result.exit_code == 0
    for words in ("--as-of", "--weeks", "--format", "--output", "huddle", "A4", "docs/report.md"):
        assert words in result.output
    assert "report" in invoke("--help").output


def test_json_prints_every_kpi_series(demo: Path) -> None:
    result = invoke("report", "--config", str(demo), "--as-of", AS_OF, "--format", "json", "--weeks", "4")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["as_of"].startswith("2026-03-02T08:00")
    assert [k["key"] for k in document["kpis"]] == KPI_KEYS
    for kpi in document["kpis"]:
        assert kpi["weeks"] == ["2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23"]
        assert kpi["definition"] and kpi["title"]
        for series in kpi["series"].values():
            assert len(series["values"]) == 4


def test_json_agrees_with_the_page(demo: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert invoke("report", "--config", str(demo), "--as-of", AS_OF, "--output", str(page)).exit_code == 0
    html = page.read_text(encoding="utf-8")
    assert (page.stat().st_mode & 0o777) == 0o600
    document = json.loads(invoke("report", "--config", str(demo), "--as-of", AS_OF, "--format", "json").stdout)
    for kpi in document["kpis"]:
        assert f'data-kpi="{kpi["key"]}"' in html
        assert len(kpi["weeks"]) == 26  # the demo's report sink says 26
    no_show = next(k for k in document["kpis"] if k["key"] == "no_show_rate")
    last = [v for v in no_show["series"]["rate"]["values"] if v is not None][-1]
    assert f"<strong>{last:g}%</strong>" in html  # the page shows the number the JSON carries


def test_targets_come_from_the_report_sink(demo: Path, tmp_path: Path) -> None:
    config = tmp_path / "practice.toml"
    text = demo.read_text(encoding="utf-8").replace(
        "# [sinks.targets]", "[sinks.targets]").replace("# acceptance_percent = 70", "acceptance_percent = 80")
    text = text.replace('path = "exports"', f'path = "{(demo.parent / "exports").as_posix()}"')
    text = text.replace('path = "state/', f'path = "{demo.parent.as_posix()}/state/')
    config.write_text(text, encoding="utf-8")
    document = json.loads(invoke("report", "--config", str(config), "--as-of", AS_OF, "--format", "json").stdout)
    acceptance = next(k for k in document["kpis"] if k["key"] == "treatment_acceptance")
    assert acceptance["target"] == {"value": 80.0, "direction": "at_least"}


def test_html_default_output_is_the_report_sinks_path(demo: Path) -> None:
    result = invoke("report", "--config", str(demo), "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert (demo.parent / "out" / "report.html").is_file()
    assert "report.html" in result.stderr


def test_a_bad_format_or_unknown_target_is_a_configuration_problem(demo: Path, tmp_path: Path) -> None:
    assert invoke("report", "--config", str(demo), "--format", "pdf").exit_code == 2
    config = tmp_path / "practice.toml"
    config.write_text(demo.read_text(encoding="utf-8").replace("# [sinks.targets]", "[sinks.targets]\nno_shows = 3"),
                      encoding="utf-8")
    result = invoke("report", "--config", str(config))
    assert result.exit_code == 2
    assert "no_shows" in result.stderr


def test_an_unwritable_output_is_named(demo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = invoke("report", "--config", str(demo), "--as-of", AS_OF, "--output", str(blocker / "report.html"))
    assert result.exit_code == 2
    assert "cannot write the report" in result.stderr


def test_an_empty_store_gives_gaps_and_says_so(tmp_path: Path, write_config) -> None:  # noqa: ANN001
    config = write_config(tmp_path / "exports")
    result = invoke("report", "--config", str(config), "--as-of", AS_OF, "--format", "json", "--weeks", "3")
    assert result.exit_code == 0, result.output
    assert "holds no data yet" in result.stderr
    for kpi in json.loads(result.stdout)["kpis"]:
        assert all(v is None for series in kpi["series"].values() for v in series["values"]), kpi["key"]
