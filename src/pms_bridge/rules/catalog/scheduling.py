"""SCH: appointments booked with the right provider, procedures and length."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, field_validator

from pms_bridge.model import Appointment, Procedure
from pms_bridge.model.enums import ProviderKind
from pms_bridge.rules.codes import CodeSet, validate_code_spec
from pms_bridge.rules.common import visit_finding
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import day_before, not_before
from pms_bridge.rules.defaults import default_hygienist_codes, default_minutes
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import WindowSettings, rule


def _abbr(ctx: RuleContext, provider_id: str) -> str:
    """A provider's abbreviation for titles (the id where the provider is unknown)."""
    provider = ctx.snapshot.providers.get(provider_id)
    return provider.abbr if provider and provider.abbr else f"provider {provider_id}"


def _booked_with(ctx: RuleContext, apt: Appointment) -> str:
    ids = [i for i in (apt.provider_id, apt.hygienist_id) if i]
    return "/".join(_abbr(ctx, i) for i in ids) or "no provider"


def _codes_of(ctx: RuleContext, apt: Appointment) -> list[str]:
    """The appointment's procedure codes in a stable order (the snapshot keeps the source's row order)."""
    return sorted(p.code for p in ctx.snapshot.procedures_of(apt.source_id))


def _finding(
    ctx: RuleContext, apt: Appointment, proc: Procedure | None, title: str, detail: str, data: dict[str, Any]
) -> Finding:
    """A finding about an appointment in the window (or one of its procedures)."""
    if proc is None:
        return visit_finding(ctx, apt, title, detail, data=data)
    return visit_finding(ctx, apt, title, detail, subject_type="procedure", subject_id=proc.source_id, data=data)


# ------------------------------------------------------------------ SCH001

HYGIENE_VISIT_CODES = ("D1110", "D1120", "D4341", "D4342", "D4346", "D4910")  # prophy, SRP, perio maintenance


class SCH001Settings(WindowSettings):
    hygienist_codes: list[str] = Field(
        default_factory=default_hygienist_codes,
        description="Codes and ranges (D0210-D0350) a hygienist may do; everything else needs a dentist or specialist.",
    )
    hygiene_visit_codes: list[str] = Field(
        default_factory=lambda: list(HYGIENE_VISIT_CODES),
        description="Codes that make an appointment a hygiene visit, besides codes the PMS flags as hygiene.",
    )

    @field_validator("hygienist_codes", "hygiene_visit_codes")
    @classmethod
    def _valid_codes(cls, specs: list[str]) -> list[str]:
        return [validate_code_spec(spec) for spec in specs]


def _is_hygiene_visit(ctx: RuleContext, apt: Appointment, procs: list[Procedure], visit_codes: CodeSet) -> bool:
    def hygiene(code: str) -> bool:
        known = ctx.snapshot.codes.get(code)
        return (known is not None and known.is_hygiene) or code in visit_codes

    return apt.is_hygiene or any(hygiene(p.code) for p in procs)


def _lacks_hygienist(ctx: RuleContext, apt: Appointment) -> bool:
    """No hygienist booked and the appointment's own provider is not one (an unknown provider: can't tell)."""
    if apt.hygienist_id:
        return False
    if not apt.provider_id:
        return True
    provider = ctx.snapshot.providers.get(apt.provider_id)
    return provider is not None and provider.kind != ProviderKind.HYGIENIST


def _code_text(ctx: RuleContext, code: str) -> str:
    known = ctx.snapshot.codes.get(code)
    return f"{known.description} {code}" if known and known.description else code


def _procedure_list(procs: list[tuple[Procedure, str]]) -> list[dict[str, Any]]:
    """The offending procedures of one appointment (ids, codes and providers only)."""
    return [{"procedure_id": p.source_id, "code": p.code, "provider_id": prov, "from_appointment": p.provider_id is None}
            for p, prov in procs]


@rule(
    "SCH001",
    "procedure-outside-provider-scope",
    role="scheduling",
    severity="high",
    summary="Procedures are booked with a provider whose kind may not do them (e.g. a crown with a hygienist), "
    "or a hygiene appointment has no hygienist; one task per appointment, listing every such procedure.",
    why="The provider cannot do the work on the day: the chair time is lost, the patient comes back, "
    "and a claim for out-of-scope work is denied.",
    fix="Move the procedures to a dentist (or correct their provider); give a hygiene appointment its hygienist.",
    settings=SCH001Settings,
    also_reads=("procedure", "procedure_code", "provider"),
)
def procedure_outside_provider_scope(ctx: RuleContext, settings: SCH001Settings) -> Iterator[Finding]:
    scope, visit_codes = CodeSet(settings.hygienist_codes), CodeSet(settings.hygiene_visit_codes)
    for apt in ctx.window(settings.window_days):
        procs = ctx.snapshot.procedures_of(apt.source_id)
        outside: list[tuple[Procedure, str]] = []
        for proc in procs:
            doer_id = proc.provider_id or apt.provider_id
            doer = ctx.snapshot.providers.get(doer_id) if doer_id else None
            if doer is not None and doer.kind == ProviderKind.HYGIENIST and proc.code not in scope:
                outside.append((proc, doer_id))  # type: ignore[arg-type]
        no_hygienist = _is_hygiene_visit(ctx, apt, procs, visit_codes) and _lacks_hygienist(ctx, apt)
        if not outside and not no_hygienist:
            continue
        titles, details = [], []
        if outside:
            doers = sorted({_abbr(ctx, prov) for _, prov in outside})
            what = _code_text(ctx, outside[0][0].code) if len(outside) == 1 else \
                ", ".join(p.code for p, _ in outside)
            titles.append(f"{what} booked with hygienist{'s' if len(doers) > 1 else ''} {'/'.join(doers)}")
            details.append("; ".join(f"{p.code} is to be done by {_abbr(ctx, prov)}, a hygienist" for p, prov in outside)
                           + " (not in the hygienist scope, rules.SCH001.hygienist_codes)")
        if no_hygienist:
            titles.append("Hygiene appointment has no hygienist" if not outside else "no hygienist booked")
            details.append(f"hygiene visit booked with {_booked_with(ctx, apt)} only; "
                           f"codes {', '.join(_codes_of(ctx, apt)) or 'none'}")
        yield _finding(
            ctx, apt, None, title="; ".join(titles), detail="; ".join(details) + ".",
            data={"procedures": _procedure_list(outside), "no_hygienist": no_hygienist,
                  "provider_id": apt.provider_id, "codes": _codes_of(ctx, apt)},
        )


# ------------------------------------------------------------------ SCH002


@rule(
    "SCH002",
    "procedure-provider-differs",
    role="scheduling",
    severity="medium",
    summary="Procedures' provider is neither the appointment's provider nor its hygienist; one task per "
    "appointment, listing every such procedure.",
    why="The schedule and the chart disagree on who does the work: one provider's day is wrong, "
    "and production and the claim go to the wrong provider.",
    fix="Change the procedures' provider, or book the appointment with the provider who will do them.",
    settings=WindowSettings,
    also_reads=("procedure", "provider"),
)
def procedure_provider_differs(ctx: RuleContext, settings: WindowSettings) -> Iterator[Finding]:
    for apt in ctx.window(settings.window_days):
        booked = {i for i in (apt.provider_id, apt.hygienist_id) if i}
        if not booked:  # nobody booked: nothing to compare with
            continue
        differs = [(p, p.provider_id) for p in ctx.snapshot.procedures_of(apt.source_id)
                   if p.provider_id and p.provider_id not in booked]
        if not differs:
            continue
        booked_with = _booked_with(ctx, apt)
        charted = ", ".join(f"{p.code} to {_abbr(ctx, prov)}" for p, prov in differs)  # type: ignore[arg-type]
        doers = sorted({_abbr(ctx, prov) for _, prov in differs})  # type: ignore[arg-type]
        codes = ", ".join(p.code for p, _ in differs)
        yield _finding(
            ctx, apt, None,
            title=f"{codes} {'is' if len(differs) == 1 else 'are'} by {'/'.join(doers)}, "
            f"appointment is with {booked_with}",
            detail=f"charted {charted}; the appointment is booked with {booked_with}.",
            data={"procedures": _procedure_list(differs),  # type: ignore[arg-type]
                  "appointment_provider_id": apt.provider_id, "hygienist_id": apt.hygienist_id},
        )


# ------------------------------------------------------------------ SCH004


class SCH003Settings(WindowSettings):
    exempt_types: list[str] = Field(
        default_factory=lambda: ["Consult", "Consultation"],
        description="Appointment types that may be booked without procedures (matched ignoring case).",
    )


@rule(
    "SCH003",
    "appointment-without-procedures",
    role="scheduling",
    severity="medium",
    summary="A scheduled appointment in the window has no procedures attached.",
    why="Without procedures the provider cannot prepare, the length cannot be checked and insurance "
    "cannot be estimated; the visit often ends up unproductive.",
    fix="Attach the planned procedures to the appointment, or set an exempt appointment type (e.g. Consult).",
    settings=SCH003Settings,
    also_reads=("procedure",),
)
def appointment_without_procedures(ctx: RuleContext, settings: SCH003Settings) -> Iterator[Finding]:
    exempt = {t.casefold() for t in settings.exempt_types}
    for apt in ctx.window(settings.window_days):
        if apt.appointment_type and apt.appointment_type.casefold() in exempt:
            continue
        if ctx.snapshot.procedures_of(apt.source_id):
            continue
        when = ctx.local_date(apt.start)
        yield Finding(
            subject_type="appointment",
            subject_id=apt.source_id,
            patient_id=apt.patient_id,
            appointment_id=apt.source_id,
            title="Appointment has no procedures attached",
            detail=f"Booked {apt.start.astimezone(ctx.tz):%a %b %-d %H:%M} for {apt.minutes} min with nothing to do.",
            due=not_before(day_before(when), ctx.today),
            data={"appointment_type": apt.appointment_type, "minutes": apt.minutes},
        )


# ------------------------------------------------------------------ helpers of SCH001, SCH002, SCH004


def _single_code(code: str) -> str:
    spec = validate_code_spec(code)
    if "-" in spec:
        raise ValueError(f"{code!r} is a range; give minutes for each code")
    return spec


class SCH004Settings(WindowSettings):
    minutes: dict[str, Annotated[int, Field(ge=1, le=600)]] = Field(
        default_factory=default_minutes,
        description="Minutes per code where the PMS keeps no time for it; a practice's table is merged over "
        "the shipped one (set only the codes that differ).",
    )
    too_short_minutes: int = Field(
        default=10, ge=0, description="Fire when booked more than this many minutes shorter than expected."
    )
    too_long_minutes: int = Field(
        default=30,
        ge=0,
        description="Fire when booked more than this many minutes longer than expected "
        "(checked only when every code's time is known).",
    )

    @field_validator("minutes", mode="before")
    @classmethod
    def _merge_over_defaults(cls, table: Any) -> Any:
        return {**default_minutes(), **table} if isinstance(table, dict) else table

    @field_validator("minutes")
    @classmethod
    def _valid_codes(cls, table: dict[str, int]) -> dict[str, int]:
        return {_single_code(code): minutes for code, minutes in table.items()}


@dataclass(frozen=True)
class CodeTime:
    """How long one procedure takes: minutes, and the PMS's time pattern where it keeps one."""

    minutes: int
    pattern: str | None = None  # 5-minute characters: X provider, / assistant


def code_time(ctx: RuleContext, settings: SCH004Settings, apt: Appointment, code: str) -> CodeTime | None:
    """The time of ``code`` on ``apt``, as Open Dental computes an appointment's length.

    The provider's own time for the code (the hygienist's for a hygiene code, else the appointment's
    provider's), else the practice's time for the code, else the shipped default; None when unknown.
    """
    known = ctx.snapshot.codes.get(code)
    doer = apt.hygienist_id if known is not None and known.is_hygiene else apt.provider_id
    own = ctx.snapshot.code_times.get((doer, code)) if doer else None
    pattern = own.time_pattern if own is not None else (known.time_pattern if known is not None else None)
    if pattern:
        return CodeTime(len(pattern) * 5, pattern)
    if known is not None and known.default_minutes:
        return CodeTime(known.default_minutes)
    minutes = settings.minutes.get(code.strip().upper())
    return CodeTime(minutes) if minutes else None


def combined_minutes(times: list[CodeTime]) -> int:
    """A visit's expected length, combined the way Open Dental books it: the longest leading and the
    longest trailing assistant time (/) once, plus every code's time in between (codes known only in
    minutes count whole)."""
    patterns = [t.pattern for t in times if t.pattern]
    lead = max((len(p) - len(p.lstrip("/")) for p in patterns), default=0)
    trail = max((len(p) - len(p.rstrip("/")) for p in patterns if "X" in p), default=0)
    middle = sum(len(p.strip("/")) for p in patterns) * 5 + sum(t.minutes for t in times if not t.pattern)
    return (lead + trail) * 5 + middle


@rule(
    "SCH004",
    "appointment-length-mismatch",
    role="scheduling",
    severity="medium",
    summary="The booked length differs from the expected length (the procedures' times combined as the PMS "
    "books them) by more than a tolerance.",
    why="Too short runs the schedule late or sends the patient home unfinished; too long leaves "
    "the chair empty.",
    fix="Change the appointment's length to fit its procedures (or the procedures to fit the visit).",
    settings=SCH004Settings,
    also_reads=("procedure", "procedure_code", "provider_code_time"),
)
def appointment_length_mismatch(ctx: RuleContext, settings: SCH004Settings) -> Iterator[Finding]:
    for apt in ctx.window(settings.window_days):
        codes = _codes_of(ctx, apt)
        per_code = [(code, code_time(ctx, settings, apt, code)) for code in codes]
        known = [(code, t) for code, t in per_code if t is not None]
        unknown = [code for code, t in per_code if t is None]
        if not known:
            continue
        expected = combined_minutes([t for _, t in known])
        too_short = apt.minutes < expected - settings.too_short_minutes
        too_long = not unknown and apt.minutes > expected + settings.too_long_minutes  # else a lower bound only
        if not (too_short or too_long):
            continue
        bound = "at least " if unknown else ""
        listed = ", ".join(f"{code} {t.minutes} min" for code, t in known)
        shared = sum(t.minutes for _, t in known) - expected
        overlap = f" ({shared} min of assistant time shared)" if shared > 0 else ""
        missing = f"; no time known for {', '.join(unknown)}" if unknown else ""
        yield _finding(
            ctx, apt, None,
            title=f"Booked {apt.minutes} min, expected {bound}{expected} min",
            detail=f"{listed}{overlap}{missing}.",
            data={"booked": apt.minutes, "expected": expected, "too_short": too_short, "codes": codes,
                  "minutes": {code: t.minutes for code, t in known}, "unknown_codes": unknown},
        )
