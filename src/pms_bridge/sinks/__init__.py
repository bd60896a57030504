"""Sinks: where tasks go (task-list files, Open Dental task lists or commlogs).

What a sink is and the registry by config ``type``: ``sinks.registry``; the shipped sinks are
registered in ``sinks.shipped``.
"""

from pms_bridge.sinks.files import render, tasks_csv, tasks_json, write_private
from pms_bridge.sinks.meta import ListMeta
from pms_bridge.sinks.registry import Sink, SinkContext, SinkResult, get_sink, register, sink_names, unregister

__all__ = [
    "ListMeta",
    "Sink",
    "SinkContext",
    "SinkResult",
    "get_sink",
    "register",
    "render",
    "sink_names",
    "tasks_csv",
    "tasks_json",
    "unregister",
    "write_private",
]
