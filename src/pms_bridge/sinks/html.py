"""The self-contained HTML task list: one file a coordinator opens (or prints) at the
morning huddle, on a front-desk PC that is often offline.

Everything the page needs is inside it: the CSS and the filter script are package
resources (``templates/tasks.css``, ``templates/tasks.js``) inlined at render time,
and a Content-Security-Policy forbids any network load. Names and texts come from
the PMS, so the template autoescapes everything; only our own static assets are
inlined unescaped.

Naive datetimes are taken to be in the practice's time zone already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from markupsafe import Markup

from pms_bridge.ledger.task import Task
from pms_bridge.model.vocabulary import ROLES, SEVERITIES, TASK_STATUSES
from pms_bridge.sinks.meta import ListMeta

__all__ = ["ROLE_LABELS", "ROLE_ORDER", "SEVERITY_ORDER", "render_task_list"]

ROLE_ORDER: tuple[str, ...] = ROLES
ROLE_LABELS: dict[str, str] = {
    "patient": "Patient coordinator",
    "scheduling": "Scheduling coordinator",
    "treatment": "Treatment coordinator",
    "financial": "Financial coordinator",
    "clinical": "Clinical coordinator",
}
SEVERITY_ORDER: tuple[str, ...] = SEVERITIES
STATUS_ORDER: tuple[str, ...] = TASK_STATUSES
WARN_SYNC_STATUSES = frozenset({"partial", "failed"})

_TEMPLATE = "tasks.html.j2"
_ASSETS = ("tasks.css", "tasks.js")


@dataclass(frozen=True)
class TaskView:
    """One task as the page shows it."""

    key: str
    role: str
    status: str
    status_label: str
    severity: str
    severity_label: str
    patient_name: str
    patient_id: str
    has_name: bool
    appointment: str | None  # "Tue Mar 3, 9:00 AM"
    appointment_id: str | None
    title: str
    detail: str
    fix: str
    due: str  # "Mon Mar 2"
    due_iso: str
    due_state: str  # overdue / today / upcoming / closed (not open)
    overdue_days: int
    rule: str
    rule_name: str
    reason: str | None
    resolved_at: str | None
    search: str  # lower-cased text the search box matches
    clinic: str | None = None  # multi-clinic offices


@dataclass(frozen=True)
class GroupView:
    role: str
    label: str
    assignees: list[str]
    tasks: list[TaskView]


def render_task_list(tasks: list[Task], meta: ListMeta) -> str:
    """The whole HTML document for ``tasks``: grouped by role, filterable, printable."""
    tz = _zone(meta.timezone)
    now = _local(meta.generated_at, tz)
    today = now.date()

    views = {id(t): _task_view(t, meta, tz, today) for t in tasks}
    groups = [
        GroupView(
            role=role,
            label=role_label(role),
            assignees=_unique(t.assignee for t in members if t.assignee),
            tasks=[views[id(t)] for t in sorted(members, key=lambda t: _sort_key(t, meta, tz))],
        )
        for role, members in _by_role(tasks)
    ]
    shown = [v for g in groups for v in g.tasks]
    open_views = [v for v in shown if v.status == "open"]

    statuses = _unique(v.status for v in shown)
    severities = _unique(v.severity for v in shown)
    context = {
        "practice_name": meta.practice_name,
        "as_of": _fmt_long(now),
        "as_of_iso": now.isoformat(),
        "as_of_date": _fmt_date(today, today),
        "data_as_of": _fmt_long(_local(meta.data_as_of, tz)) if meta.data_as_of else None,
        "sync": _sync_view(meta, tz),
        "groups": groups,
        "total": len(shown),
        "open_count": len(open_views),
        "overdue_count": sum(1 for v in open_views if v.due_state == "overdue"),
        "today_count": sum(1 for v in open_views if v.due_state == "today"),
        "high_count": sum(1 for v in open_views if v.severity == "high"),
        "role_options": [(g.role, g.label, len(g.tasks)) for g in groups],
        # Only an office whose tasks span clinics needs to see them; a single-clinic list looks as it always did.
        "show_clinic": len({v.clinic for v in shown}) > 1,
        "severity_options": [
            (s, s.capitalize()) for s in sorted(severities, key=_severity_rank)
        ],
        "status_options": [
            (s, s.capitalize()) for s in sorted(statuses, key=_status_rank)
        ]
        if any(s != "open" for s in statuses)
        else [],
        "css": _asset("tasks.css"),
        "js": _asset("tasks.js"),
    }
    return _environment().get_template(_TEMPLATE).render(context)


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, f"{role.replace('_', ' ').capitalize()} coordinator")


# -- view building ---------------------------------------------------------------


def _task_view(task: Task, meta: ListMeta, tz: ZoneInfo, today: date) -> TaskView:
    name = meta.patient_names.get(task.patient_id)
    patient_name = name or f"Patient #{task.patient_id}"
    appointment = _fmt_short(_local(task.appointment_at, tz)) if task.appointment_at else None
    is_open = task.status == "open"
    overdue_days = (today - task.due).days if is_open else 0
    if not is_open:
        due_state = "closed"
    elif task.due < today:
        due_state = "overdue"
    elif task.due == today:
        due_state = "today"
    else:
        due_state = "upcoming"
    search = " ".join(
        part
        for part in (patient_name, task.patient_id, task.title, task.detail, task.rule, task.name, task.clinic)
        if part
    ).lower()
    return TaskView(
        key=task.key,
        role=task.role,
        status=task.status,
        status_label=task.status.capitalize(),
        severity=task.severity,
        severity_label=task.severity.capitalize(),
        patient_name=patient_name,
        patient_id=task.patient_id,
        has_name=bool(name),
        appointment=appointment,
        appointment_id=task.appointment_id,
        title=task.title,
        detail=task.detail,
        fix=task.fix,
        due=_fmt_date(task.due, today),
        due_iso=task.due.isoformat(),
        due_state=due_state,
        overdue_days=max(overdue_days, 0),
        rule=task.rule,
        rule_name=task.name,
        reason=task.reason,
        resolved_at=_fmt_short(_local(task.resolved_at, tz)) if task.resolved_at else None,
        search=search,
        clinic=task.clinic,
    )


def _sync_view(meta: ListMeta, tz: ZoneInfo) -> dict[str, object]:
    status = (meta.sync_status or "").lower() or None
    labels = {"ok": "OK", "partial": "Partial", "failed": "Failed"}
    warn = status in WARN_SYNC_STATUSES or meta.quarantined > 0 or bool(meta.failed_sources)
    return {
        "status": status,
        "status_label": labels.get(status, status.capitalize()) if status else "Never synced",
        "last_sync_at": _fmt_long(_local(meta.last_sync_at, tz)) if meta.last_sync_at else None,
        "quarantined": meta.quarantined,
        "failed_sources": list(meta.failed_sources),
        "warn": warn,
        "state": "warn" if warn else ("ok" if status == "ok" else "unknown"),
    }


def _by_role(tasks: list[Task]) -> list[tuple[str, list[Task]]]:
    buckets: dict[str, list[Task]] = {}
    for task in tasks:
        buckets.setdefault(task.role, []).append(task)
    known = [r for r in ROLE_ORDER if r in buckets]
    # Roles outside the five (a practice's own) come after them, alphabetically,
    # rather than silently disappearing from the list.
    extra = sorted(r for r in buckets if r not in ROLE_ORDER)
    return [(r, buckets[r]) for r in known + extra]


def _sort_key(task: Task, meta: ListMeta, tz: ZoneInfo) -> tuple[object, ...]:
    appt = _local(task.appointment_at, tz) if task.appointment_at else None
    return (
        task.due,
        _severity_rank(task.severity),
        appt is None,  # tasks without an appointment after those with one
        appt.timestamp() if appt else 0.0,
        meta.patient_names.get(task.patient_id, "").lower(),
        task.key,
    )


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _status_rank(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def _unique(values: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return list(seen)


# -- time formatting (no locale, no platform-specific strftime flags) ---------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} for the HTML task list") from exc


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def _clock(value: datetime) -> str:
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def _fmt_short(value: datetime) -> str:
    """Tue Mar 3, 9:00 AM"""
    return f"{value:%a} {value:%b} {value.day}, {_clock(value)}"


def _fmt_long(value: datetime) -> str:
    """Tue Mar 3, 2026, 7:00 AM CST"""
    zone = value.tzname() or ""
    return f"{value:%a} {value:%b} {value.day}, {value.year}, {_clock(value)} {zone}".rstrip()


def _fmt_date(value: date, today: date) -> str:
    """Mon Mar 2 (with the year when it is not the as-of year)."""
    text = f"{value:%a} {value:%b} {value.day}"
    return text if value.year == today.year else f"{text}, {value.year}"


# -- template environment --------------------------------------------------------


def _read_template(name: str) -> str:
    return files("pms_bridge.sinks").joinpath("templates", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (_read_template(name), None, lambda: True)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["plural"] = lambda n, one, many: one if n == 1 else many
    return env


@cache
def _asset(name: str) -> Markup:
    """Our own static CSS/JS, inlined as is. Never PMS data: that is always escaped."""
    if name not in _ASSETS:
        raise KeyError(name)
    text = _read_template(name)
    if "</" in text:  # would end the <style>/<script> element early
        raise ValueError(f"{name} must not contain '</'")
    return Markup(text)
