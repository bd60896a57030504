"""INS: the coverage an upcoming visit will bill is active, verified and complete.

Each coverage (primary, secondary ...) is checked on its own and gives at most
one finding per rule, about the patient's first appointment it concerns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

from pydantic import Field

from pms_bridge.model import Appointment, Coverage, Verification
from pms_bridge.model.enums import VerificationKind, VerificationResult
from pms_bridge.rules.common import visit_finding
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import Horizon, RuleSettings, WindowSettings, rule

_ORDINALS = {1: "Primary", 2: "Secondary"}


def _plan_label(cov: Coverage) -> str:
    """Carrier and plan names for titles and details (never the subscriber id)."""
    names = [n for n in (cov.carrier_name, cov.plan_name) if n]
    return " / ".join(names) or f"coverage {cov.source_id}"


def _coverage_finding(ctx: RuleContext, cov: Coverage, apt: Appointment, title: str, detail: str,
                      **data: Any) -> Finding:
    return visit_finding(
        ctx, apt, title,
        f"{_ORDINALS.get(cov.ordinal, f'Coverage #{cov.ordinal}')} {_plan_label(cov)}: {detail}",
        subject_type="coverage", subject_id=cov.source_id,
        data={"ordinal": cov.ordinal, "carrier": cov.carrier_name, "plan": cov.plan_name, **data},
    )


# Statuses whose verification date can be trusted. A work-queue state (Open Dental's Attempted,
# See Notes, ServiceError: "pending") leaves the date of the last verification standing; a status
# nobody mapped ("unknown") might mean anything, so its date never counts as verified.
TRUSTED_RESULTS = frozenset({VerificationResult.VERIFIED, VerificationResult.INACTIVE, VerificationResult.PENDING})


def _latest_eligibility(ctx: RuleContext, cov: Coverage, *, trusted: bool = True) -> Verification | None:
    """The coverage's latest dated eligibility check with a trusted status (any, with ``trusted=False``).

    Plan-level benefit checks do not verify the patient.
    """
    checks = [
        v for v in ctx.snapshot.verifications_by_coverage.get(cov.source_id, [])
        if v.kind == VerificationKind.ELIGIBILITY and v.verified_on is not None
        and (v.result in TRUSTED_RESULTS or not trusted)
    ]
    return max(checks, key=lambda v: (v.verified_on, v.source_id)) if checks else None


def _billed_coverages(ctx: RuleContext, patient_id: str) -> list[Coverage]:
    """The patient's coverages, primary first, leaving out pending ones."""
    return [c for c in ctx.snapshot.coverages_by_patient.get(patient_id, []) if not c.is_pending]


def _inactive_on(cov: Coverage, when: date) -> str | None:
    """Why the coverage does not cover a visit on ``when`` (None: its dates cover it)."""
    if cov.term_date is not None and cov.term_date < when:
        return f"Coverage ended {cov.term_date.isoformat()}"
    if cov.effective_date is not None and cov.effective_date > when:
        return f"Coverage starts {cov.effective_date.isoformat()}"
    return None


@rule(
    "INS001",
    "insurance-inactive",
    role="financial",
    severity="high",
    summary="A coverage of a patient with an appointment in the window has ended (or not yet started) by the "
    "appointment date, or its latest eligibility check says inactive.",
    why="Claims against an inactive coverage are denied and the patient is surprised with the whole bill.",
    fix="Confirm the patient's current insurance, update or drop the coverage, and re-check eligibility.",
    settings=WindowSettings,
    reads=("coverage",),
    also_reads=("verification",),
)
def insurance_inactive(ctx: RuleContext, settings: WindowSettings) -> Iterator[Finding]:
    for pid, apts in ctx.window_by_patient(settings.window_days).items():
        for cov in _billed_coverages(ctx, pid):
            dated = [(apt, why) for apt in apts if (why := _inactive_on(cov, ctx.local_date(apt.start)))]
            if dated:
                apt, title = dated[0]
                yield _coverage_finding(ctx, cov, apt, title, "its dates do not cover the visit.",
                                        term_date=cov.term_date and cov.term_date.isoformat(),
                                        effective_date=cov.effective_date and cov.effective_date.isoformat())
                continue
            latest = _latest_eligibility(ctx, cov)
            if latest is not None and latest.result == VerificationResult.INACTIVE:
                yield _coverage_finding(ctx, cov, apts[0], "Latest eligibility check says inactive",
                                        f"eligibility checked {latest.verified_on.isoformat()} came back inactive.",
                                        verified_on=latest.verified_on.isoformat())


class INS002Settings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"days_ahead": ("window",)}

    days_ahead: int = Field(default=3, ge=1, le=30,
                            description="Look at patients with an appointment this many days ahead.")
    max_age_days: int = Field(default=30, ge=0, le=365,
                              description="An eligibility check this many days old (or newer) still counts.")


@rule(
    "INS002",
    "insurance-not-verified",
    role="financial",
    severity="medium",
    summary="A patient with an appointment in the next few days has a coverage whose eligibility was not "
    "verified recently (plan-level benefit checks do not count).",
    why="Verifying shortly before the visit catches ended or changed coverage while the patient can still "
    "bring new insurance or expect to pay.",
    fix="Verify the coverage's eligibility with the carrier and record the verification.",
    settings=INS002Settings,
    reads=("coverage", "verification"),
)
def insurance_not_verified(ctx: RuleContext, settings: INS002Settings) -> Iterator[Finding]:
    oldest = ctx.today - timedelta(days=settings.max_age_days)
    for pid, apts in ctx.window_by_patient(settings.days_ahead).items():
        for cov in _billed_coverages(ctx, pid):
            latest = _latest_eligibility(ctx, cov)
            if latest is not None and latest.verified_on >= oldest:
                continue
            last = latest.verified_on.isoformat() if latest else None
            age = f"last verified {last}" if last else "never verified"
            attempt = _latest_eligibility(ctx, cov, trusted=False)
            if attempt is not None and attempt is not latest:  # a newer check with a status nobody mapped
                age += (f"; the check of {attempt.verified_on.isoformat()} has status "
                        f"'{attempt.status_label or attempt.result.value}', which no setting maps "
                        "(mapping.maps.verify_result)")
            yield _coverage_finding(ctx, cov, apts[0],
                                    f"Eligibility not verified in {settings.max_age_days} days",
                                    f"eligibility {age}.", last_verified=last,
                                    last_attempt=attempt.verified_on.isoformat() if attempt else None)


@rule(
    "INS003",
    "insurance-incomplete",
    role="financial",
    severity="medium",
    summary="A coverage of a patient with an appointment in the window lacks a subscriber id, a carrier or a plan.",
    why="Claims and eligibility checks cannot be sent without them.",
    fix="Complete the coverage from the patient's insurance card (subscriber id, carrier, plan).",
    settings=WindowSettings,
    reads=("coverage",),
)
def insurance_incomplete(ctx: RuleContext, settings: WindowSettings) -> Iterator[Finding]:
    for pid, apts in ctx.window_by_patient(settings.window_days).items():
        for cov in ctx.snapshot.coverages_by_patient.get(pid, []):
            missing = [
                what for what, value in (
                    ("subscriber id", cov.subscriber_id),
                    ("carrier", cov.carrier_id or cov.carrier_name),
                    ("plan", cov.plan_id),
                ) if not (value and value.strip())
            ]
            if missing:
                yield _coverage_finding(ctx, cov, apts[0], f"Coverage lacks {' and '.join(missing)}",
                                        f"no {', no '.join(missing)} on file.", missing=missing)
