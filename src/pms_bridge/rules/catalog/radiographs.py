"""XR: radiographs on file for new and referred patients and for the procedures that need them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pms_bridge.model.enums import RadiographKind
from pms_bridge.rules.codes import CodeSet, CodeSpec
from pms_bridge.rules.common import RecencySettings, recent_referral_in, visit_finding
from pms_bridge.rules.context import RuleContext
from pms_bridge.rules.dates import months_before
from pms_bridge.rules.defaults import default_radiograph_needs
from pms_bridge.rules.finding import Finding
from pms_bridge.rules.registry import Horizon, WindowSettings, rule
from pms_bridge.rules.snapshot import RadiographOnFile

# -- XR --------------------------------------------------------------------------------------

_KIND_NAMES = {RadiographKind.FMX: "FMX", RadiographKind.CBCT: "CBCT", RadiographKind.OTHER: "other radiograph"}


def _kinds_text(kinds: Iterable[RadiographKind]) -> str:
    """'a periapical, FMX or pano'."""
    names = [_KIND_NAMES.get(k, str(k)) for k in kinds]
    text = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"{'an' if text[0] in 'aeiou' or text.startswith('FMX') else 'a'} {text}"


def _newest(films: list[RadiographOnFile], kinds: Iterable[RadiographKind] | None = None) -> date | None:
    """Date of the newest film (of one of ``kinds``; any kind if None); films are newest first."""
    return next((f.taken for f in films if kinds is None or f.kind in kinds), None)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class XR001Settings(RecencySettings):
    horizons: ClassVar[Mapping[str, tuple[Horizon, ...]]] = {**RecencySettings.horizons, "lookback_days": ("referral",)}

    lookback_days: int = Field(default=90, ge=1, le=730,
                               description="A referral in dated this many days before today or later makes the "
                               "patient referred-in.")


@rule(
    "XR001",
    "radiographs-missing",
    role="patient",
    severity="high",
    summary="A new or referred-in patient has an appointment in the window and no radiograph on file from the "
    "last 12 months.",
    why="Without recent images the dentist cannot diagnose at the first visit; the visit turns into a second "
    "appointment or an unplanned x-ray the insurance may not pay.",
    fix="Request the images from the previous or referring office, or book radiographs at the visit.",
    settings=XR001Settings,
    reads=("document",),
    also_reads=("procedure", "referral"),  # a completed radiograph procedure is a film on file
)
def radiographs_missing(ctx: RuleContext, settings: XR001Settings) -> Iterator[Finding]:
    edge = ctx.today - timedelta(days=settings.lookback_days)
    for apt, when in ctx.first_visits(settings.window_days):
        pid = apt.patient_id
        referred = any(recent_referral_in(r, edge, ctx.today) for r in ctx.snapshot.referrals_by_patient.get(pid, []))
        if not (referred or ctx.snapshot.is_new_patient(pid, ctx.today)):
            continue
        since = months_before(when, settings.months)
        newest = _newest(ctx.snapshot.radiographs_of(pid))
        if newest is not None and newest >= since:
            continue
        yield visit_finding(
            ctx, apt,
            f"No x-rays on file for a {'referred' if referred else 'new'} patient",
            f"newest radiograph {_iso(newest) or 'none'}; needs one taken on or after {since.isoformat()}.",
            subject_type="patient",
            data={"newest_radiograph": _iso(newest), "since": since.isoformat(), "referred": referred},
        )


class Need(BaseModel):
    """Procedures that need a radiograph of one of some kinds, taken within some months."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, description="What the procedures are, for the task title (e.g. crown).")
    codes: list[CodeSpec] = Field(min_length=1, description="CDT codes and ranges (D2710-D2799).")
    kinds: list[RadiographKind] = Field(min_length=1, description="Radiograph kinds that meet the need.")
    months: int = Field(ge=1, le=120, description="The radiograph must be this many months old or newer "
                        "on the appointment date.")


class XR002Settings(WindowSettings):
    needs: list[Need] = Field(
        default_factory=lambda: [Need.model_validate(n) for n in default_radiograph_needs()],
        description="Procedures that need a recent radiograph; a practice's list replaces the default.",
    )


@rule(
    "XR002",
    "radiographs-outdated-for-procedure",
    role="clinical",
    severity="high",
    summary="A scheduled procedure needs a recent radiograph of a certain kind and none is on file "
    "(e.g. SRP: FMX or pano within 24 months; crown: periapical, FMX or pano within 12 months).",
    why="Treating without a current image risks missing decay, bone loss or pathology, and insurers deny "
    "SRP, crowns and implants without one.",
    fix="Get a recent image of the right kind on file before the visit: request it from the previous office "
    "or take it first (a planned radiograph counts once it is completed).",
    settings=XR002Settings,
    reads=("document",),
    also_reads=("procedure",),
)
def radiographs_outdated_for_procedure(ctx: RuleContext, settings: XR002Settings) -> Iterator[Finding]:
    needs = [(need, CodeSet(need.codes)) for need in settings.needs]
    for apt in ctx.window(settings.window_days):
        when = ctx.local_date(apt.start)
        films = ctx.snapshot.radiographs_of(apt.patient_id)
        unmet: dict[tuple[int, str], dict[str, Any]] = {}  # (need, code) -> what is missing
        for proc in sorted(ctx.snapshot.procedures_of(apt.source_id), key=lambda p: (p.code, p.source_id)):
            for i, (need, codes) in enumerate(needs):
                if proc.code not in codes:
                    continue
                since, newest = months_before(when, need.months), _newest(films, need.kinds)
                if newest is None or newest < since:
                    entry = unmet.setdefault((i, proc.code), {
                        "code": proc.code, "need": need.label, "kinds": [str(k) for k in need.kinds],
                        "months": need.months, "since": since.isoformat(), "newest": _iso(newest),
                        "procedure_ids": [], "teeth": [],
                        "text": f"{need.label[:1].upper()}{need.label[1:]} {proc.code} needs "
                                f"{_kinds_text(need.kinds)} from the last {need.months} months",
                    })
                    entry["procedure_ids"].append(proc.source_id)
                    if proc.tooth:
                        entry["teeth"].append(proc.tooth)
        if unmet:
            items = list(unmet.values())
            title = items[0]["text"] + (f" (+{len(items) - 1} more)" if len(items) > 1 else "")
            detail = "; ".join(f"{u['text']} (newest {u['newest'] or 'none'})" for u in items) + "."
            yield visit_finding(ctx, apt, title, detail,
                                data={"unmet": [{k: v for k, v in u.items() if k != "text"} for u in items]})
