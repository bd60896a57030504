"""The words every stage shares: coordinator roles, severities, task statuses.

Defined once here; config, rules, ledger and sinks import them (the tasks JSON schema spells the
same lists, and a test keeps it in step).
"""

from __future__ import annotations

from typing import Literal, get_args

# The coordinator roles that work tasks, in the order task lists show them.
Role = Literal["patient", "scheduling", "treatment", "financial", "clinical"]
ROLES: tuple[str, ...] = get_args(Role)

# How urgent a rule's findings are, most urgent first.
Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

# A task's lifecycle: open (to work), resolved (the problem is gone), dismissed (a person closed it),
# expired (its appointment date passed).
TaskStatus = Literal["open", "resolved", "dismissed", "expired"]
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
