"""The sinks pms-bridge ships, registered here and nowhere else (see ``pms_bridge.sinks.registry``).

A new sink is one module with an object that has a ``name``, a ``settings`` model, ``writes_pms``
and ``push(tasks, context)``; add it to ``SHIPPED``. Config validation, the pipeline, `pms-bridge
tasks --format` and `pms-bridge schema config` follow from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pms_bridge.ledger import Task
from pms_bridge.sinks.files import CSV_SINK, HTML_SINK, JSON_SINK
from pms_bridge.sinks.opendental_commlogs import push_commlogs
from pms_bridge.sinks.opendental_settings import CommlogSinkSettings, TaskSinkSettings
from pms_bridge.sinks.opendental_tasks import push_tasks
from pms_bridge.sinks.registry import Sink, SinkContext, SinkResult
from pms_bridge.sinks.report import REPORT_SINK


@dataclass(frozen=True)
class OpenDentalSink:
    """Tasks written into Open Dental through the source's API client (runs before the file sinks)."""

    name: str
    settings: type[BaseModel]
    target: str  # what the run summary names as the destination
    pusher: Callable[..., Any]  # push_tasks or push_commlogs
    writes_pms: bool = True

    def push(self, tasks: list[Task], context: SinkContext) -> SinkResult:
        if context.client is None:
            return SinkResult(self.name, self.target, error='needs [source] connector = "opendental-api"')
        pushed = self.pusher(
            context.client, context.store, context.settings, tasks,
            now=context.as_of, run_id=context.run_id, index=context.index,
        )  # fmt: skip
        error = "; ".join(pushed.errors[:5]) if (pushed.failed or pushed.errors) else None
        warning = "; ".join(pushed.warnings) or None
        return SinkResult(self.name, self.target, pushed.created + pushed.updated + pushed.closed, error, warning)


OPENDENTAL_TASKS = OpenDentalSink("opendental-tasks", TaskSinkSettings, "Open Dental task lists", push_tasks)
OPENDENTAL_COMMLOG = OpenDentalSink("opendental-commlog", CommlogSinkSettings, "Open Dental commlogs", push_commlogs)

# Order: what `schema config` and "Input should be ..." list.
SHIPPED: tuple[Sink, ...] = (JSON_SINK, CSV_SINK, HTML_SINK, OPENDENTAL_TASKS, OPENDENTAL_COMMLOG, REPORT_SINK)
