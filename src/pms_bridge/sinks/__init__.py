"""Sinks: where tasks go (files now; Open Dental task lists next)."""

from pms_bridge.sinks.files import render, tasks_csv, tasks_json, write_private
from pms_bridge.sinks.meta import ListMeta

__all__ = ["ListMeta", "render", "tasks_csv", "tasks_json", "write_private"]
