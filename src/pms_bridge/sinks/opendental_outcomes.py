"""What a push did, task by task: counts, per-task failures, warnings, and when to stop.

A request error is one task's problem: it is counted and the sink goes on. Only Open Dental
being down for several tasks in a row stops a sink (config errors propagate to the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from pms_bridge.connectors.api_client import ApiConfigError, ApiRequestError, ApiUnavailable

# After this many requests in a row still failing after their retries, the API is down: stop the sink.
MAX_CONSECUTIVE_UNAVAILABLE = 3

T = TypeVar("T")


@dataclass
class PushReport:
    created: int = 0
    updated: int = 0
    closed: int = 0
    dismissed_from_pms: int = 0  # ledger tasks dismissed because a person closed (or deleted) them in Open Dental
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # "KEY: what" (no patient data)
    adopted: int = 0  # copies found by their marker after a crash or a lost answer, instead of a second write
    reopened: int = 0  # closed Open Dental tasks set back to New because the ledger task opened again
    skipped: int = 0  # open tasks of a role with no task list in the config
    unchanged: int = 0
    attached_to_patient: int = 0  # tasks whose appointment Open Dental no longer has, attached to the patient
    # Needs a person's look but failed no task (e.g. the office's version cannot mark tasks Done): once each.
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


class Calls:
    """Runs one task's requests: request errors are recorded and the sink goes on; config errors propagate."""

    def __init__(self, report: PushReport) -> None:
        self.report = report
        self.consecutive_unavailable = 0
        self.stopped = False

    def fail(self, key: str, what: str) -> None:
        self.report.failed += 1
        self.report.errors.append(f"{key}: {what}")

    def halted(self) -> bool:
        """After the sink stopped, every further task counts as failed and nothing is recorded or sent."""
        if self.stopped:
            self.report.failed += 1
        return self.stopped

    def run(self, key: str, call: Callable[[], T]) -> tuple[bool, T | None]:
        if self.halted():
            return False, None
        try:
            result = call()
        except ApiUnavailable as exc:
            self.fail(key, str(exc))
            self.consecutive_unavailable += 1
            if self.consecutive_unavailable >= MAX_CONSECUTIVE_UNAVAILABLE:
                self.stopped = True
                self.report.errors.append(
                    f"stopped: Open Dental failed {self.consecutive_unavailable} tasks in a row after retries; "
                    "the rest waits for the next run"
                )
            return False, None
        except ApiRequestError as exc:
            self.consecutive_unavailable = 0
            self.fail(key, str(exc))
            return False, None
        self.consecutive_unavailable = 0
        return True, result


def with_hint(exc: ApiConfigError, where: str, hint: str) -> ApiConfigError:
    return ApiConfigError(f"{exc}; {where}: {hint}")
