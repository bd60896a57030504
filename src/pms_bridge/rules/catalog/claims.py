"""CLM and PA: completed work billed, claims paid, pre-authorizations in before the work.

Which claims a procedure is on: the claims its lines name (Open Dental: claimproc rows with a ClaimNum),
and the patient's claims of the procedure's date (a claim's service date), so that a route or a PMS that
keeps no claim lines still tells a billed visit from an unbilled one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar

from pydantic import Field, field_validator

from pms_bridge.model import Claim, Coverage, Procedure
from pms_bridge.model.enums import (
    ClaimProcedureStatus,
    ClaimStatus,
    ClaimType,
    ProcedureStatus,
)
from pms_bridge.rules.codes import CodeSet, validate_code_spec
from pms_bridge.rules.common import procedure_label, visit_finding
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.defaults import default_preauth_codes
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import Horizon, RuleSettings, WindowSettings, rule

# Claims that went out (or whose state nobody mapped: never second-guessed as unsent).
GONE_OUT = frozenset({ClaimStatus.SENT, ClaimStatus.RECEIVED, ClaimStatus.OTHER})
# Lines that need no claim: capitation work, and insurance history (work done elsewhere).
NO_CLAIM_NEEDED = frozenset({ClaimProcedureStatus.CAP_COMPLETE, ClaimProcedureStatus.CAP_ESTIMATE,
                             ClaimProcedureStatus.CAP_CLAIM, ClaimProcedureStatus.HISTORY})


def _money(amount: Decimal | None) -> str:
    return "amount unknown" if amount is None else f"${amount:,.2f}"


def _covers(cov: Coverage, day: date) -> bool:
    """The coverage is in force on ``day`` (a pending one is not)."""
    return (not cov.is_pending and (cov.effective_date is None or cov.effective_date <= day)
            and (cov.term_date is None or day <= cov.term_date))


def _active_coverages(ctx: RuleContext, patient_id: str, day: date) -> list[Coverage]:
    return [c for c in ctx.snapshot.coverages_by_patient.get(patient_id, []) if _covers(c, day)]


def _carrier(cov_or_claim: Coverage | Claim) -> str:
    return cov_or_claim.carrier_name or (f"carrier {cov_or_claim.carrier_id}" if cov_or_claim.carrier_id
                                         else "unknown carrier")


# ------------------------------------------------------------------ CLM001


class CLM001Settings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"max_age_days": ("completed_procedure",)}

    min_age_days: int = Field(default=3, ge=0, le=60,
                              description="Give the claim this many days after the procedure before asking.")
    max_age_days: int = Field(default=180, ge=1, le=730,
                              description="Ignore procedures older than this many days (most carriers' filing "
                              "limit is longer, but older work is the billing office's clean-up, not a task).")


def _claims_of(ctx: RuleContext, proc: Procedure) -> list[Claim]:
    """The claims (not pre-authorizations) the procedure is on, by its lines or by the claim's service date."""
    found = {line.claim_id: ctx.snapshot.claims.get(line.claim_id)
             for line in ctx.snapshot.claim_lines_of(proc.source_id) if line.claim_id}
    for claim in ctx.snapshot.claims_by_patient.get(proc.patient_id, []):
        if claim.service_date == proc.procedure_date:
            found[claim.source_id] = claim
    return [c for c in found.values() if c is not None and c.claim_type != ClaimType.PREAUTH]


def _unbilled(ctx: RuleContext, proc: Procedure) -> list[Claim] | None:
    """The unsent claims a completed procedure is only on (empty: on none); None when it needs no task:
    on a claim sent (or on hold), or needing no claim."""
    if any(line.status in NO_CLAIM_NEEDED for line in ctx.snapshot.claim_lines_of(proc.source_id)):
        return None
    claims = _claims_of(ctx, proc)
    if any(c.status in GONE_OUT or c.status == ClaimStatus.HOLD for c in claims):
        return None
    return claims


@rule(
    "CLM001",
    "claim-not-sent",
    role="financial",
    severity="high",
    summary="A procedure completed 3 to 180 days ago, for a patient whose coverage was in force on that day, is on "
    "no claim (in Open Dental its line is still an estimate) or only on claims not sent yet (claims on hold "
    "excepted); one task per patient and procedure date.",
    why="Completed work that is never billed is never paid, and every week a claim waits makes it likelier to "
    "pass the carrier's filing limit.",
    fix="Create the claim for the visit (or send the one waiting) and attach what the carrier needs.",
    settings=CLM001Settings,
    reads=("claim",),
    also_reads=("procedure", "coverage", "claim_procedure"),
)
def claim_not_sent(ctx: RuleContext, settings: CLM001Settings) -> Iterator[Finding]:
    first, last = ctx.today - timedelta(days=settings.max_age_days), ctx.today - timedelta(days=settings.min_age_days)
    for pid, procs in ctx.snapshot.procedures_by_patient.items():
        by_day: dict[date, list[tuple[Procedure, list[Claim]]]] = defaultdict(list)
        for proc in procs:
            day = proc.procedure_date
            if proc.status != ProcedureStatus.COMPLETE or day is None or not first <= day <= last:
                continue
            if not _active_coverages(ctx, pid, day):
                continue
            claims = _unbilled(ctx, proc)
            if claims is not None:
                by_day[day].append((proc, claims))
        for day in sorted(by_day):
            found = sorted(by_day[day], key=lambda pc: (pc[0].code, pc[0].source_id))
            unsent = sorted({c.source_id: c for _, cs in found for c in cs}.values(), key=lambda c: c.source_id)
            carriers = sorted({_carrier(c) for c in _active_coverages(ctx, pid, day)})
            fee = sum((p.fee for p, _ in found if p.fee is not None), Decimal(0))
            codes = ", ".join(p.code for p, _ in found)
            where = (f"on claim{'s' if len(unsent) > 1 else ''} not sent yet "
                     f"({', '.join(f'{c.source_id} {c.status.value}' for c in unsent)})" if unsent else "on no claim")
            yield Finding(
                subject_type="patient",
                subject_id=f"{pid}:{day.isoformat()}",
                patient_id=pid,
                appointment_id=None,
                title=f"Work of {day:%b %-d} not billed ({_money(fee)})",
                detail=f"Completed {day.isoformat()}: {codes} {where}; coverage {', '.join(carriers)}; "
                f"{(ctx.today - day).days} days ago.",
                due=ctx.today,
                data={"procedure_date": day.isoformat(), "procedures": [p.source_id for p, _ in found],
                      "codes": [p.code for p, _ in found], "fee_total": str(fee),
                      "unsent_claims": [c.source_id for c in unsent], "carriers": carriers},
            )


# ------------------------------------------------------------------ CLM002


class CLM002Settings(RuleSettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {"after_days": ("outstanding_claim",)}

    after_days: int = Field(default=30, ge=1, le=365,
                            description="Follow up claims sent more than this many days ago and still not received.")


@rule(
    "CLM002",
    "claim-unpaid",
    role="financial",
    severity="medium",
    summary="A claim (not a pre-authorization) sent more than 30 days ago is still in the sent state, not "
    "received; one task per claim, with its carrier, amount and days outstanding.",
    why="Most clean claims are paid within a month: one still open after that was lost, rejected or needs "
    "information, and it will not be paid until someone asks.",
    fix="Check the claim's status with the carrier (portal or phone), resend or answer what it needs, and record "
    "the payment when it comes.",
    settings=CLM002Settings,
    reads=("claim",),
)
def claim_unpaid(ctx: RuleContext, settings: CLM002Settings) -> Iterator[Finding]:
    for pid, claims in ctx.snapshot.claims_by_patient.items():
        for claim in claims:
            if (claim.claim_type == ClaimType.PREAUTH or claim.status != ClaimStatus.SENT or claim.sent_date is None
                    or (ctx.today - claim.sent_date).days <= settings.after_days):
                continue
            days = (ctx.today - claim.sent_date).days
            amount = claim.fee
            yield Finding(
                subject_type="claim",
                subject_id=claim.source_id,
                patient_id=pid,
                appointment_id=None,
                title=f"Claim unpaid {days} days ({_carrier(claim)}, {_money(amount)})",
                detail=f"Claim {claim.source_id} for services of "
                f"{claim.service_date.isoformat() if claim.service_date else 'an unknown date'}, "
                f"sent {claim.sent_date.isoformat()} to {_carrier(claim)}: {_money(amount)} billed, insurance "
                f"estimate {_money(claim.insurance_estimate)}; {days} days outstanding.",
                due=ctx.today,
                data={"claim_id": claim.source_id, "carrier": claim.carrier_name, "claim_type": claim.claim_type.value,
                      "fee": str(amount) if amount is not None else None,
                      "insurance_estimate": str(claim.insurance_estimate) if claim.insurance_estimate is not None
                      else None, "sent_date": claim.sent_date.isoformat(), "days_outstanding": days},
            )


# ------------------------------------------------------------------ PA001


class PA001Settings(WindowSettings):
    toml_example: ClassVar[str] = """
codes = ["D2740", "D2750", "D4341", "D4342", "D6010"]
[rules.PA001.carriers]
"Example Dental Plan" = ["D2700-D2799", "D6000-D6099"]
"""

    codes: list[str] = Field(
        default_factory=default_preauth_codes,
        description="Codes and ranges that need a pre-authorization (crowns, bridges, implants, dentures, SRP).")
    carriers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per carrier name (as the PMS spells it, any case): the codes that carrier wants "
        "pre-authorized, instead of `codes` (an empty list: none).")

    @field_validator("codes")
    @classmethod
    def _valid_codes(cls, specs: list[str]) -> list[str]:
        return [validate_code_spec(spec) for spec in specs]

    @field_validator("carriers")
    @classmethod
    def _valid_carriers(cls, table: dict[str, list[str]]) -> dict[str, list[str]]:
        return {name.strip().casefold(): [validate_code_spec(s) for s in specs] for name, specs in table.items()}


def _preauthorized(ctx: RuleContext, proc: Procedure) -> bool:
    """A pre-authorization lists the procedure (its line is a pre-authorization's, whatever the answer)."""
    for line in ctx.snapshot.claim_lines_of(proc.source_id):
        claim = ctx.snapshot.claims.get(line.claim_id) if line.claim_id else None
        if line.status == ClaimProcedureStatus.PREAUTH or (claim is not None and claim.claim_type == ClaimType.PREAUTH):
            return True
    return False


@rule(
    "PA001",
    "preauth-missing",
    role="financial",
    severity="medium",
    summary="An appointment in the window holds a procedure that needs a pre-authorization (crowns, bridges, "
    "implants, dentures, scaling and root planing; per carrier if set) for a patient whose coverage is in force "
    "on the appointment date, and no pre-authorization lists that procedure; one task per appointment.",
    why="Without the carrier's pre-authorization the claim for major work can be denied after the work is done, "
    "and the patient is surprised with the bill.",
    fix="Send the pre-authorization (with radiographs and notes) now, or tell the patient the cost if they "
    "choose to go ahead without one.",
    settings=PA001Settings,
    reads=("coverage", "claim_procedure"),
    also_reads=("procedure", "claim"),
)
def preauth_missing(ctx: RuleContext, settings: PA001Settings) -> Iterator[Finding]:
    default = CodeSet(settings.codes)
    per_carrier = {name: CodeSet(specs) for name, specs in settings.carriers.items()}
    for apt in ctx.window(settings.window_days):
        covs = _active_coverages(ctx, apt.patient_id, ctx.local_date(apt.start))
        if not covs:
            continue
        sets = [(cov, per_carrier.get((cov.carrier_name or "").strip().casefold(), default)) for cov in covs]
        missing = [(proc, [c for c, codes in sets if proc.code in codes])
                   for proc in ctx.snapshot.procedures_of(apt.source_id)]
        missing = [(proc, needed_by) for proc, needed_by in missing if needed_by and not _preauthorized(ctx, proc)]
        if not missing:
            continue
        codes = ", ".join(procedure_label(p) for p, _ in missing)
        carriers = sorted({_carrier(c) for _, by in missing for c in by})
        yield visit_finding(
            ctx, apt, f"No pre-authorization for {codes}",
            f"{codes} need{'s' if len(missing) == 1 else ''} a pre-authorization from {', '.join(carriers)}; "
            "none lists them.",
            data={"procedures": [p.source_id for p, _ in missing], "codes": [p.code for p, _ in missing],
                  "carriers": carriers},
        )
