"""The CSV and JSON task lists byte for byte where other programs read them: columns, empty cells, line
ends, the clinic column, and which statuses a file lists."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from pms_bridge.ledger.task import Task
from pms_bridge.sinks.files import (
    CSV_COLUMNS,
    CSV_SINK,
    JSON_SINK,
    FileSinkSettings,
    tasks_csv,
)
from pms_bridge.sinks.meta import ListMeta

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)


def _task(key: str, status: str = "open", clinic: str | None = None) -> Task:
    return Task(key=key, rule="XR001", name="radiographs-missing", status=status, severity="medium",
                role="patient", patient_id="101", appointment_id=None, subject_type="patient", subject_id="101",
                title=f"Title {key}", detail="Line one,\nline two", fix="Take them.", due=date(2026, 3, 4),
                created_at=NOW, updated_at=NOW, clinic=clinic)


def test_csv_header_cells_and_line_ends() -> None:
    text = tasks_csv([_task("XR001:patient:101")])
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert CSV_COLUMNS == [
        "key", "rule", "name", "status", "severity", "role", "assignee", "patient_id", "appointment_id",
        "appointment_at", "due", "title", "detail", "fix", "created_at", "updated_at", "resolved_at", "reason",
    ]
    (row,) = list(csv.DictReader(io.StringIO(text, newline="")))
    assert row == {
        "key": "XR001:patient:101", "rule": "XR001", "name": "radiographs-missing", "status": "open",
        "severity": "medium", "role": "patient", "assignee": "", "patient_id": "101", "appointment_id": "",
        "appointment_at": "", "due": "2026-03-04", "title": "Title XR001:patient:101",
        "detail": "Line one,\nline two", "fix": "Take them.", "created_at": "2026-03-02T08:00:00-06:00",
        "updated_at": "2026-03-02T08:00:00-06:00", "resolved_at": "", "reason": "",
    }  # None is an empty cell, never "None"
    assert text.endswith('"Line one,\nline two",Take them.,2026-03-02T08:00:00-06:00,2026-03-02T08:00:00-06:00,,\r\n')


def test_csv_has_a_clinic_column_when_any_task_has_a_clinic() -> None:
    assert "clinic" not in tasks_csv([_task("a"), _task("b")]).split("\r\n")[0].split(",")
    mixed = list(csv.DictReader(io.StringIO(tasks_csv([_task("a", clinic="Main St"), _task("b")]), newline="")))
    assert [(r["key"], r["clinic"]) for r in mixed] == [("a", "Main St"), ("b", "")]


def _context(tmp_path: Path, kind: str, status: list[str] | None = None) -> SimpleNamespace:
    settings = FileSinkSettings(type=kind, path=Path(f"out/tasks.{kind}"), **({"status": status} if status else {}))
    meta = ListMeta(practice_name="Test Dental", timezone="America/Chicago", generated_at=NOW, data_as_of=NOW,
                    last_sync_at=NOW, sync_status="ok", patient_names={})
    return SimpleNamespace(config=SimpleNamespace(resolve=lambda p: tmp_path / p), settings=settings, meta=meta)


TASKS = [_task("o1"), _task("d1", status="dismissed"), _task("r1", status="resolved"), _task("o2")]


def test_a_file_lists_the_open_tasks_by_default(tmp_path: Path) -> None:
    result = JSON_SINK.push(TASKS, _context(tmp_path, "json"))  # type: ignore[arg-type]
    listed = json.loads((tmp_path / "out" / "tasks.json").read_text(encoding="utf-8"))
    assert [t["key"] for t in listed] == ["o1", "o2"] and result.tasks == 2 and result.error is None


def test_a_file_lists_the_statuses_it_names(tmp_path: Path) -> None:
    result = CSV_SINK.push(TASKS, _context(tmp_path, "csv", ["dismissed", "resolved"]))  # type: ignore[arg-type]
    text = (tmp_path / "out" / "tasks.csv").read_bytes().decode("utf-8")
    assert [r["key"] for r in csv.DictReader(io.StringIO(text, newline=""))] == ["d1", "r1"] and result.tasks == 2
