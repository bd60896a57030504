"""Pieces several rule families share."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from pms_bridge.model import Appointment, Procedure, Referral
from pms_bridge.model.enums import ReferralDirection
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import day_before, not_before
from pms_bridge.rules.finding import Finding, SubjectType
from pms_bridge.rules.registry import WindowSettings


class RecencySettings(WindowSettings):
    months: int = Field(
        default=12,
        ge=1,
        le=120,
        description="What is on file must be this many months old or newer on the appointment date.",
    )


def visit_finding(
    ctx: RuleContext,
    apt: Appointment,
    title: str,
    detail: str,
    *,
    subject_type: SubjectType = "appointment",
    subject_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> Finding:
    """A finding about one upcoming visit, due the day before it.

    The subject is the appointment unless given; ``subject_type="patient"`` defaults to the patient's id.
    """
    when = ctx.local_date(apt.start)
    if subject_id is None:
        subject_id = apt.patient_id if subject_type == "patient" else apt.source_id
    return Finding(
        subject_type=subject_type,
        subject_id=subject_id,
        patient_id=apt.patient_id,
        appointment_id=apt.source_id,
        title=title,
        detail=f"Visit {apt.start.astimezone(ctx.tz):%a %b %-d %H:%M}: {detail}",
        due=not_before(day_before(when), ctx.today),
        data={"appointment_date": when.isoformat(), **(data or {})},
    )


def recent_referral_in(referral: Referral, earliest: date, today: date) -> bool:
    """A referral to this practice dated from ``earliest`` to ``today`` (inclusive)."""
    return (
        referral.direction == ReferralDirection.IN
        and referral.referral_date is not None
        and earliest <= referral.referral_date <= today
    )


def procedure_label(procedure: Procedure) -> str:
    """A procedure as a coordinator reads it on a task: its code and tooth (or, with no tooth, its surface or
    quadrant, e.g. D4341 UR), so two lines of one code tell apart."""
    where = f" #{procedure.tooth}" if procedure.tooth else (f" {procedure.surface}" if procedure.surface else "")
    return f"{procedure.code}{where}"
