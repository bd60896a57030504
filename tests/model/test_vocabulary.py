"""Roles, severities and task statuses are defined once (model.vocabulary); every other spelling agrees."""

from __future__ import annotations

import json
from importlib.resources import files

from pms_bridge.config import models as config_models
from pms_bridge.ledger import STATUSES
from pms_bridge.model.vocabulary import (
    ROLES,
    SEVERITIES,
    TASK_STATUSES,
    Role,
    TaskStatus,
)
from pms_bridge.rules import RULES


def test_the_tasks_json_schema_spells_the_same_lists() -> None:
    schema = json.loads(files("pms_bridge.sinks").joinpath("tasks.schema.json").read_text())
    props = schema["items"]["properties"]
    assert tuple(props["status"]["enum"]) == TASK_STATUSES
    assert tuple(props["severity"]["enum"]) == SEVERITIES
    assert tuple(props["role"]["enum"]) == ROLES


def test_rules_config_and_ledger_use_the_vocabulary() -> None:
    assert {r.role for r in RULES.values()} <= set(ROLES)
    assert {r.severity for r in RULES.values()} <= set(SEVERITIES)
    assert STATUSES == TASK_STATUSES
    assert config_models.Role is Role
    assert config_models.TaskStatusName is TaskStatus
