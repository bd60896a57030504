"""What a sink is, and the registry of sinks by their config ``type``.

A sink takes the task ledger somewhere: a file (json, csv, html) or the PMS itself (Open Dental
task lists, commlogs). Each ``[[sinks]]`` table names a registered sink by ``type``; the other keys
are that sink's settings, checked by its pydantic model when the config is loaded. The shipped
sinks are registered in one place, ``pms_bridge.sinks.shipped``; a test or a plug-in may
``register`` its own (and ``unregister`` it again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import InitErrorDetails, PydanticCustomError

from pms_bridge.ledger import Task
from pms_bridge.model.validation import looks_like_secret
from pms_bridge.sinks.meta import ListMeta

if TYPE_CHECKING:
    from pms_bridge.config import Config
    from pms_bridge.connectors.api_client import ApiClient
    from pms_bridge.store import Store


@dataclass
class SinkResult:
    type: str
    target: str  # a file path (never a URL with credentials)
    tasks: int = 0
    error: str | None = None
    warning: str | None = None  # needs a person's look, but nothing failed (e.g. the PMS is too old for a feature)


@dataclass(frozen=True)
class SinkContext:
    """What one ``[[sinks]]`` table's push is given besides the tasks."""

    config: Config
    store: Store
    settings: Any  # the table, validated by the sink's settings model
    index: int  # position among the [[sinks]] tables (for messages: sinks[2])
    as_of: datetime  # the run's "now"
    run_id: int | None
    client: ApiClient | None = None  # the source's API client (None: the source is files)
    meta: ListMeta | None = None  # header facts of a task list; given to sinks that do not write the PMS


@runtime_checkable
class Sink(Protocol):
    """A destination for tasks.

    ``push`` gets every ledger task (all statuses; a sink picks what it shows) and returns what it
    delivered. A sink that ``writes_pms`` runs before the others, so a task a person closed in the
    PMS is dismissed before the task lists are written. Expected failures (a file not writable, a
    PMS item refused) go into the result's ``error``; a configuration problem raises ConfigError.
    """

    name: str  # the config `type`
    settings: type[BaseModel]  # the keys of its [[sinks]] table (including `type`)
    writes_pms: bool

    def push(self, tasks: list[Task], context: SinkContext) -> SinkResult: ...


@runtime_checkable
class TaskListSink(Sink, Protocol):
    """A sink that renders the task list as text: also a format of `pms-bridge tasks --format`."""

    shows_patient_names: bool  # only the HTML list shows names (and so needs them in ListMeta)

    def render(self, tasks: list[Task], meta: ListMeta) -> str: ...


_SINKS: dict[str, Sink] = {}
_loaded = False


def _shipped() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from pms_bridge.sinks.shipped import SHIPPED

        for sink in SHIPPED:
            _SINKS.setdefault(sink.name, sink)


def register(sink: Sink) -> Sink:
    """Add a sink type; its ``name`` becomes a valid ``[[sinks]] type``."""
    _shipped()
    if sink.name in _SINKS and _SINKS[sink.name] is not sink:
        raise ValueError(f"a sink named {sink.name!r} is already registered")
    _SINKS[sink.name] = sink
    return sink


def unregister(name: str) -> None:
    _SINKS.pop(name, None)


def sinks() -> list[Sink]:
    """Every registered sink, shipped ones first, in registration order."""
    _shipped()
    return list(_SINKS.values())


def sink_names() -> list[str]:
    return [s.name for s in sinks()]


def get_sink(name: str) -> Sink:
    _shipped()
    try:
        return _SINKS[name]
    except KeyError:
        raise KeyError(f"no sink type {name!r}; use one of {', '.join(_SINKS)}") from None


def task_list_formats() -> list[str]:
    """Sink types that render a task list as text (`pms-bridge tasks --format`)."""
    return [s.name for s in sinks() if isinstance(s, TaskListSink)]


def one_of(names: list[str], quote: Callable[[str], str] = repr) -> str:
    """'a', 'b' or 'c'."""
    quoted = [quote(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def documented_keys(sink: Sink) -> list[str]:
    """The keys a sink's table takes: `type` and the settings that carry a description."""
    fields = sink.settings.model_fields
    described = [k for k, f in fields.items() if k != "type" and f.description]
    return ["type", *(described or [k for k in fields if k != "type"])]


def _loc(err: Any) -> tuple[Any, ...]:
    """The key path: task_lists.patient, not task_lists.patient.[key] or ...patient.constrained-int."""
    arm = ("[key]", "constrained-", "function-")
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(arm)))


def _explained(sink: Sink, err: Any) -> tuple[str, str]:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        if looks_like_secret(key):
            hint = "Never put a secret in the config file: store it in an environment variable or the OS keyring"
        else:
            article = "an" if sink.name[:1] in "aeiou" else "a"
            hint = f"Check the spelling; {article} {sink.name} sink takes: {', '.join(documented_keys(sink))}"
        kind, msg = "sink_key_unknown", f"{msg}. {hint}"
    return kind, msg


def validate_settings(name: str, table: dict[str, Any]) -> BaseModel:
    """A ``[[sinks]]`` table validated by its sink's settings model; errors keep the key path.

    A value no arm of a union accepts (a task list's name or number) is one problem, not one per arm.
    """
    sink = get_sink(name)
    try:
        return sink.settings.model_validate(table)
    except ValidationError as exc:
        problems: dict[tuple[Any, ...], tuple[str, list[str], Any]] = {}
        for err in exc.errors():
            kind, msg = _explained(sink, err)
            known = problems.setdefault(_loc(err), (kind, [], err.get("input")))
            if msg not in known[1]:
                known[1].append(msg)
        details: list[InitErrorDetails] = [
            {"type": PydanticCustomError(kind, "{msg}", {"msg": "; or ".join(msgs)}), "loc": loc, "input": value}
            for loc, (kind, msgs, value) in problems.items()
        ]
        raise ValidationError.from_exception_data(exc.title, details) from None


def settings_json_schema(description: str, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    """JSON Schema of a ``[[sinks]]`` table: one variant per registered sink, keyed by ``type``."""
    variants = [
        {
            "title": sink.name,
            "allOf": [handler(sink.settings.__pydantic_core_schema__)],
            "properties": {"type": {"const": sink.name}},
        }
        for sink in sinks()
    ]
    return {
        "title": "SinkSection",
        "description": " ".join(description.split()),
        "type": "object",
        "properties": {"type": {"enum": sink_names(), "description": "Which sink: its settings follow."}},
        "required": ["type"],
        "oneOf": variants,
    }
