"""The task ledger pushed into Open Dental: task lists, or commlog notes as a fallback.

``push_tasks`` (opendental_tasks) keeps one Open Dental task per ledger task in the task list of
its coordinator role; ``push_commlogs`` (opendental_commlogs) writes one commlog note per open
task, once. Texts hold codes, dates and the fix hint, never a patient's name; logs and errors
hold keys and counts.
"""

from pms_bridge.sinks.opendental_commlogs import COMMLOG_SINK, push_commlogs
from pms_bridge.sinks.opendental_outcomes import PushReport
from pms_bridge.sinks.opendental_requests import marked_key, marker, task_text
from pms_bridge.sinks.opendental_settings import CommlogSinkSettings, TaskSinkSettings
from pms_bridge.sinks.opendental_tasks import TASKS_SINK, push_tasks, resolve_task_lists

__all__ = [
    "COMMLOG_SINK",
    "TASKS_SINK",
    "CommlogSinkSettings",
    "PushReport",
    "TaskSinkSettings",
    "marked_key",
    "marker",
    "push_commlogs",
    "push_tasks",
    "resolve_task_lists",
    "task_text",
]
