"""What an Open Dental task or note is attached to, and what to do when Open Dental no longer has it.

Open Dental answers 404 "Appointment not found." / "Patient not found." when a task's KeyNum is
stale (apitasks.html), e.g. an appointment deleted since the night's sync. That is one task's
problem: a task whose appointment is gone is attached to its patient instead; one whose patient
is gone too fails alone, with a message naming the kind of reference (ids only, never PHI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pms_bridge.connectors.api_client import ApiItemNotFound, ApiRequestError
from pms_bridge.ledger import Task
from pms_bridge.sinks.opendental_requests import od_num

T = TypeVar("T")


class StaleReference(ApiRequestError):
    """Open Dental no longer has the patient (or appointment) a task or note is about."""


def task_link(task: Task) -> dict[str, Any]:
    """``ObjectType`` and ``KeyNum`` for a task: its appointment when it has one, else its patient."""
    if task.appointment_id:
        object_type, key_num = "Appointment", od_num(task.appointment_id)
    else:
        object_type, key_num = "Patient", od_num(task.patient_id)
    if key_num is None:
        raise ValueError(f"its {object_type.lower()} id is not an Open Dental number")
    return {"ObjectType": object_type, "KeyNum": int(key_num)}


def stale(kind: str, num: Any, exc: ApiItemNotFound, effect: str) -> StaleReference:
    return StaleReference(f"stale {kind} reference: Open Dental has no {kind} {num} any more ({exc}); {effect}")


def send_linked(
    send: Callable[[dict[str, Any]], T], body: dict[str, Any], task: Task, effect: str
) -> tuple[T, dict[str, Any]]:
    """Send a body carrying the task's link; an appointment Open Dental no longer has: link the patient (once).

    Returns the answer and the body that got it. ``effect`` says what a stale patient means for
    this call ("not written to Open Dental, ..."). Raises StaleReference when the patient is gone
    too; other errors propagate.
    """
    try:
        return send(body), body
    except ApiItemNotFound as exc:
        kind = (exc.item or "").lower()
        if kind == "appointment" and body.get("ObjectType") == "Appointment":
            pat_num = od_num(task.patient_id)
            if pat_num is None:
                raise stale("appointment", body.get("KeyNum"), exc, effect) from None
            attempt = {**body, "ObjectType": "Patient", "KeyNum": int(pat_num)}
            try:
                return send(attempt), attempt
            except ApiItemNotFound as again:
                if (again.item or "").lower() == "patient":
                    raise stale("patient", pat_num, again, effect) from None
                raise
        if kind == "patient" and body.get("ObjectType") == "Patient":
            raise stale("patient", body.get("KeyNum"), exc, effect) from None
        raise

