"""Task lists written to files: JSON (the contract), CSV, HTML. Files are owner-only."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from pms_bridge.ledger import Task
from pms_bridge.private_files import private_dir
from pms_bridge.sinks.meta import ListMeta

CSV_COLUMNS = [
    "key", "rule", "name", "status", "severity", "role", "assignee", "patient_id", "appointment_id",
    "appointment_at", "due", "title", "detail", "fix", "created_at", "updated_at", "resolved_at", "reason",
]  # fmt: skip


def tasks_json(tasks: list[Task]) -> str:
    return json.dumps([t.to_json() for t in tasks], indent=2, ensure_ascii=False) + "\n"


def tasks_csv(tasks: list[Task]) -> str:
    buffer = io.StringIO()
    # A clinic column only where the office has clinics: a single-clinic office's file stays as it was.
    columns = CSV_COLUMNS + ["clinic"] if any(t.clinic for t in tasks) else CSV_COLUMNS
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for task in tasks:
        writer.writerow({k: "" if v is None else v for k, v in task.to_json().items()})
    return buffer.getvalue()


def tasks_html(tasks: list[Task], meta: ListMeta) -> str:
    from pms_bridge.sinks.html import render_task_list

    return render_task_list(tasks, meta)


def render(fmt: str, tasks: list[Task], meta: ListMeta) -> str:
    if fmt == "json":
        return tasks_json(tasks)
    if fmt == "csv":
        return tasks_csv(tasks)
    if fmt == "html":
        return tasks_html(tasks, meta)
    raise ValueError(f"unknown task list format {fmt!r}")


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with an owner-only (0600) file; a reader never sees half a list."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
