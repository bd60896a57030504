"""Task lists written to files: JSON (the contract), CSV, HTML. Files are owner-only.

The three are sinks (``[[sinks]] type = "json" | "csv" | "html"``, registered in
``pms_bridge.sinks.shipped``) and the formats of `pms-bridge tasks --format`.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pms_bridge.ledger import Task
from pms_bridge.model.vocabulary import TaskStatus
from pms_bridge.private_files import private_dir
from pms_bridge.sinks.meta import ListMeta
from pms_bridge.sinks.registry import (
    SinkContext,
    SinkResult,
    get_sink,
    task_list_formats,
)

log = structlog.get_logger("pms_bridge.sinks.files")

MAX_NAME_BYTES = 255  # NAME_MAX: the longest file or folder name common file systems take

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
    """The task list in a format of `pms-bridge tasks --format` (a registered task-list sink)."""
    if fmt not in task_list_formats():
        raise ValueError(f"unknown task list format {fmt!r}")
    return get_sink(fmt).render(tasks, meta)  # type: ignore[attr-defined,no-any-return]


class FileSinkSettings(BaseModel):
    """``[[sinks]] type = "json" | "csv" | "html"``: a task list written to a file."""

    model_config = ConfigDict(extra="forbid")

    type: str
    path: Path | None = Field(default=None, description="File to write (relative to the config file).")
    status: list[TaskStatus] = Field(
        default_factory=lambda: ["open"], description="Which tasks the file lists (default: open ones)."
    )

    @field_validator("path")
    @classmethod
    def _nameable(cls, value: Path | None) -> Path | None:
        # No file system takes a NUL in a name, and no file name is longer than NAME_MAX: refused here (a
        # configuration problem) rather than failing the write at the end of a run.
        if value is None:
            return value
        if "\0" in str(value):
            raise ValueError("contains a NUL character (\\u0000), which no file name can hold; give the file to write")
        if any(len(os.fsencode(part)) > MAX_NAME_BYTES for part in value.parts):
            raise ValueError(f"has a file or folder name longer than {MAX_NAME_BYTES} bytes; give a shorter path")
        return value

    @model_validator(mode="after")
    def _needs_path(self) -> FileSinkSettings:
        if self.path is None:
            raise ValueError(f"a {self.type} sink needs 'path', the file to write")
        return self


@dataclass(frozen=True)
class FileSink:
    """A task list rendered as text and written to an owner-only file."""

    name: str
    renderer: Callable[[list[Task], ListMeta], str]
    shows_patient_names: bool = False
    settings: type[BaseModel] = FileSinkSettings
    writes_pms: bool = False

    def render(self, tasks: list[Task], meta: ListMeta) -> str:
        return self.renderer(tasks, meta)

    def push(self, tasks: list[Task], context: SinkContext) -> SinkResult:
        settings: FileSinkSettings = context.settings
        assert settings.path is not None and context.meta is not None
        path = context.config.resolve(settings.path)
        chosen = [t for t in tasks if t.status in settings.status]
        text = self.render(chosen, context.meta)
        try:
            if path.exists() and not path.is_file():  # a device, a pipe, a folder: never replaced by a file
                log.warning("sink.failed", sink=self.name, error="not a regular file")
                return SinkResult(self.name, str(path), error="cannot write: the path exists and is not a regular "
                                  "file (a folder, device or pipe); point the sink's path at a file")
            write_private(path, text)
        except OSError as exc:
            log.warning("sink.failed", sink=self.name, error=exc.strerror)
            return SinkResult(self.name, str(path), error=f"cannot write: {exc.strerror}")
        return SinkResult(self.name, str(path), len(chosen))


JSON_SINK = FileSink("json", lambda tasks, meta: tasks_json(tasks))
CSV_SINK = FileSink("csv", lambda tasks, meta: tasks_csv(tasks))
HTML_SINK = FileSink("html", tasks_html, shows_patient_names=True)


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
    _sweep_leftovers(path)


# A temp file this old is no write in progress: its writer was killed (it may hold patient names).
LEFTOVER_AGE_S = 600


def _sweep_leftovers(path: Path) -> None:
    """Remove temp copies of ``path`` that killed writers left behind."""
    cutoff = time.time() - LEFTOVER_AGE_S
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove: harmless
            if stale.is_file() and stale.stat().st_mtime < cutoff:
                stale.unlink()
