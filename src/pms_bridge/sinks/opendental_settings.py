"""Settings of the Open Dental sinks (``[[sinks]]`` tables), with errors that name the key to fix."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pms_bridge.config import ConfigError
from pms_bridge.model.vocabulary import ROLES, Role

T = TypeVar("T")


class _SinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The keys every [[sinks]] table has (see config.models.SinkSection); unused here.
    type: str
    path: Any = None
    status: Any = None


TaskListRef = Annotated[int, Field(strict=True, ge=1)] | Annotated[str, Field(min_length=1)]


class TaskSinkSettings(_SinkSettings):
    """``[[sinks]] type = "opendental-tasks"``."""

    user_num: int = Field(strict=True, ge=1, description="The Open Dental user (UserNum) tasks are created as.")
    task_lists: dict[Role, TaskListRef] = Field(
        min_length=1, description="Coordinator role -> task list name or TaskListNum; roles left out are not pushed."
    )


class CommlogSinkSettings(_SinkSettings):
    """``[[sinks]] type = "opendental-commlog"``."""

    comm_type: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        description="CommType DefNum (category 27); 0 or absent: Open Dental's default.",
    )


def sink_where(sink: dict[str, Any], index: int | None) -> str:
    return f"sinks[{index}]" if index is not None else f"sinks[{sink.get('type', '?')}]"


def sink_table(sink: Any) -> dict[str, Any]:
    return sink.model_dump() if isinstance(sink, BaseModel) else dict(sink)


def parse_settings(model: type[T], sink: dict[str, Any], where: str) -> T:
    try:
        return model.model_validate(sink)  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            if loc[:1] == ["task_lists"] and len(loc) >= 2:
                role = loc[1]
                if "[key]" in loc:
                    text = f"{where}.task_lists.{role}: not a coordinator role; use one of {', '.join(ROLES)}"
                else:
                    text = f"{where}.task_lists.{role}: give a task list name or a TaskListNum (a whole number >= 1)"
            elif loc == ["task_lists"] and err["type"] == "too_short":
                text = f'{where}.task_lists: map at least one role to a task list, e.g. patient = "Patient Coordinator"'
            else:
                key = ".".join(loc) or "(table)"
                msg = err["msg"].removeprefix("Value error, ")
                hint = " (add it)" if err["type"] == "missing" else ""
                if err["type"] == "extra_forbidden":
                    allowed = ", ".join(k for k in model.model_fields if k not in _SinkSettings.model_fields)  # type: ignore[attr-defined]
                    hint = f" (check the spelling; this sink takes: {allowed})"
                text = f"{where}.{key}: {msg}{hint}"
            if text not in problems:
                problems.append(text)
        raise ConfigError("\n".join(problems)) from None
