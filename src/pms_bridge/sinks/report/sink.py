"""``[[sinks]] type = "report"``: the huddle and KPI page, rewritten by every run; and the builder the
`pms-bridge report` command shares with it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pms_bridge.ledger import Task
from pms_bridge.sinks.files import FileSink, FileSinkSettings
from pms_bridge.sinks.meta import ListMeta
from pms_bridge.sinks.registry import SinkContext, SinkResult
from pms_bridge.sinks.report.huddle import Huddle, build_huddle, huddle_days
from pms_bridge.sinks.report.kpis import Kpi, KpiTargets, compute_kpis, report_weeks
from pms_bridge.sinks.report.render import ReportMeta, render_report
from pms_bridge.store import Store, patients_by_id
from pms_bridge.store.report_reads import load_report_data

DEFAULT_WEEKS = 26
MAX_WEEKS = 156


class ReportSinkSettings(BaseModel):
    """``[[sinks]] type = "report"``: the morning huddle and KPI page, written to a file."""

    model_config = ConfigDict(extra="forbid")

    type: str
    path: Path = Field(description="File to write (relative to the config file), e.g. out/report.html.")
    weeks: int = Field(default=DEFAULT_WEEKS, ge=1, le=MAX_WEEKS, description="How many weeks the KPI charts show.")
    targets: KpiTargets = Field(default_factory=KpiTargets, description="The KPI targets ([sinks.targets]).")

    @field_validator("path")
    @classmethod
    def _nameable(cls, value: Path) -> Path:
        """The same file-name checks as the task-list files."""
        try:
            FileSinkSettings(type="report", path=value)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return value


@dataclass(frozen=True)
class Report:
    kpis: list[Kpi]
    huddle: Huddle
    meta: ReportMeta


def build_report(store: Store, practice_name: str, as_of: datetime, weeks: int, targets: KpiTargets,
                 data_as_of: datetime | None = None) -> Report:
    """Read what the report needs for ``weeks`` weeks before ``as_of`` and compute it.

    ``data_as_of``: the newest change in the PMS data, when the caller knows it (a run does); else the latest
    finished run's."""
    from pms_bridge.pipeline.tasks import (
        patient_names,  # the pipeline imports the sinks: read lazily
    )

    tz = store.practice.tz
    mondays = report_weeks(as_of, tz, weeks)
    days = huddle_days(as_of, tz)
    data = load_report_data(store, mondays[0], mondays[-1] + timedelta(days=6), days)
    on_huddle = {v.patient_id for v in data.visits if v.start is not None and v.start.astimezone(tz).date() in days}
    data.patient_names = patient_names(p for p in patients_by_id(store, on_huddle))  # type: ignore[misc]
    meta = ReportMeta(practice_name, as_of, tz, data_as_of or _latest_data_as_of(store))
    return Report(compute_kpis(data, as_of, tz, weeks, targets), build_huddle(data, as_of, tz), meta)


def _latest_data_as_of(store: Store) -> datetime | None:
    """What the latest finished run said the data was as of (cheaper than scanning every table again)."""
    for run in store.list_runs(5):
        stamp = run.summary.get("data_as_of") if run.status != "running" and run.summary else None
        if stamp:
            return datetime.fromisoformat(stamp)
    return None


@dataclass(frozen=True)
class ReportSink:
    name: str = "report"
    settings: type[BaseModel] = ReportSinkSettings
    writes_pms: bool = False

    def push(self, tasks: list[Task], context: SinkContext) -> SinkResult:
        """Writes the page from the store (whose ledger ``tasks`` come from), as the task-list files are written."""
        settings: ReportSinkSettings = context.settings
        report = build_report(context.store, context.config.practice.name, context.as_of, settings.weeks,
                              settings.targets, context.meta.data_as_of if context.meta else None)
        text = render_report(report.kpis, report.huddle, report.meta)
        as_file = FileSinkSettings(type=self.name, path=settings.path)  # counts the open tasks it reports on
        writer = FileSink(self.name, lambda _tasks, _meta: text)
        return writer.push(tasks, replace(context, settings=as_file, meta=context.meta or _NO_META))


_NO_META = ListMeta("", "UTC", datetime.min, None, None, None)  # the report reads its own facts from the store


REPORT_SINK = ReportSink()
