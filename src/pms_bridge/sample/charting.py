"""The chart of a background patient: radiographs and health histories at each exam.

Exams look ahead to the next exam so a patient is never seen with radiographs
or a health history older than the practice's limits, and every booked visit in
the window is checked against what the rules will look for. A window visit that
would still fail (rare) is taken off the book, so the background stays clean.
"""

from __future__ import annotations

from datetime import date, timedelta

from pms_bridge.sample.clinic import exam_procs
from pms_bridge.sample.codes import (
    CODE_BY_ID,
    FMX_OR_PANO,
    NEEDS_FMX,
    NEEDS_PA_PREFIXES,
    PA_FMX_PANO,
)
from pms_bridge.sample.opendental_enums import (
    COMPLETE,
    SCHEDULED,
    SHEET_CONSENT,
    SHEET_MEDICAL_HISTORY,
    SHEET_PATIENT_FORM,
)
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.records import Person, Sheet, Visit

RADIOGRAPH_CATEGORIES = frozenset({"BWs", "FMXs", "Panos"})
MAX_AGE = 330  # days; safely inside the rules' 12 months
SRP_MAX_AGE = 700  # safely inside 24 months
EXAMS = ("np", "recall")


def finish(pr: Practice, person: Person) -> None:
    rng = pr.rng
    live = sorted((v for v in person.visits if v.status in (COMPLETE, SCHEDULED)), key=lambda v: v.start)
    docs = [d.at.date() for d in person.docs if d.category in RADIOGRAPH_CATEGORIES]
    last_rad = max(docs, default=None)
    big = last_rad
    if person.first_visit_before is not None:  # seen before the export: FMX some years back
        big = pr.start - timedelta(days=rng.randrange(4 * 365))
    big_every = rng.choice((3, 4, 5)) * 365
    last_mh = max((s.at.date() for s in person.sheets if s.sheet_type == SHEET_MEDICAL_HISTORY), default=None)
    perio = False
    for i, visit in enumerate(live):
        perio = perio or (visit.kind == "srp" and visit.status == COMPLETE)
        adult = person.age_on(visit.day) >= 15
        if visit.kind not in EXAMS:
            if visit.status == COMPLETE:
                last_rad = _after_treatment(person, visit, last_rad)
            continue
        if visit.status == SCHEDULED:
            exam_procs(person, visit, _booked_xrays(visit, adult, last_rad), perio)
            continue
        horizon = _horizon(live, i)
        xrays = _xrays(pr, visit, adult, last_rad, big, big_every, horizon)
        exam_procs(person, visit, xrays, perio)
        if xrays or visit.pa_teeth:
            last_rad = visit.day
        if FMX_OR_PANO & set(xrays):
            big = visit.day
        if last_mh is None or (horizon - last_mh).days > 300 or rng.random() < 0.5:
            person.health_history(visit.start - timedelta(minutes=10), web=rng.random() < 0.3)
            last_mh = visit.day
    validate(pr, person)


def _after_treatment(person: Person, visit: Visit, last_rad: date | None) -> date | None:
    codes = {p.code for p in visit.procs}
    if visit.kind == "consult":
        person.health_history(visit.start - timedelta(minutes=10))
    if any(c.startswith(("D27", "D3", "D6", "D72")) for c in codes):
        person.sheets.append(Sheet(SHEET_CONSENT, visit.start - timedelta(minutes=5), "Consent - Treatment"))
    if any(CODE_BY_ID[c].is_radiology for c in codes):
        return visit.day
    return last_rad


def _booked_xrays(visit: Visit, adult: bool, last_rad: date | None) -> list[str]:
    if visit.kind == "np":
        return ["D0210" if adult else "D0272"]
    due = last_rad is None or (visit.day - last_rad).days > 300
    return ["D0274" if adult else "D0272"] if due else []


def _horizon(live: list[Visit], i: int) -> date:
    """The last day this exam's radiographs and history must cover: every visit
    up to the next completed exam (which takes its own), and a booked next exam."""
    horizon = live[i].day
    for visit in live[i + 1 :]:
        if visit.kind in EXAMS and visit.status == COMPLETE:
            break
        horizon = visit.day
    return horizon


def _xrays(
    pr: Practice,
    visit: Visit,
    adult: bool,
    last_rad: date | None,
    big: date | None,
    big_every: int,
    horizon: date,
) -> list[str]:
    big_age = None if big is None else (visit.day - big).days
    if adult and (big_age is None or big_age > big_every or (visit.needs_fmx and big_age > 540)):
        return ["D0210"] if pr.rng.random() < 0.7 else ["D0274", "D0330"]
    if visit.kind == "np" or last_rad is None or (horizon - last_rad).days > MAX_AGE:
        return ["D0274" if adult else "D0272"]
    return []


def evidence(person: Person) -> dict[str, list[date]]:
    """What the rules will find on file: radiographs by kind, forms."""
    found: dict[str, list[date]] = {"rad": [], "big": [], "pa": [], "mh": [], "reg": []}
    for proc in person.procs:
        if proc.visit is not None and proc.visit.status == COMPLETE and CODE_BY_ID[proc.code].is_radiology:
            found["rad"].append(proc.visit.day)
            if proc.code in FMX_OR_PANO:
                found["big"].append(proc.visit.day)
            if proc.code in PA_FMX_PANO:
                found["pa"].append(proc.visit.day)
    for doc in person.docs:
        if doc.category in RADIOGRAPH_CATEGORIES:
            found["rad"].append(doc.at.date())
            if doc.category != "BWs":
                found["big"].append(doc.at.date())
                found["pa"].append(doc.at.date())
    for sheet in person.sheets:
        if not sheet.deleted and sheet.sheet_type == SHEET_MEDICAL_HISTORY:
            found["mh"].append(sheet.at.date())
        if not sheet.deleted and sheet.sheet_type == SHEET_PATIENT_FORM:
            found["reg"].append(sheet.at.date())
    return found


def validate(pr: Practice, person: Person) -> None:
    found = evidence(person)

    def recent(kind: str, days: int) -> bool:
        return any(d >= pr.today - timedelta(days=days) for d in found[kind])

    for visit in [v for v in person.visits if v.status == SCHEDULED]:
        codes = {p.code for p in visit.procs}
        ok = recent("rad", MAX_AGE) and recent("mh", MAX_AGE) and bool(found["reg"])
        if any(c.startswith(NEEDS_PA_PREFIXES) for c in codes):
            ok = ok and recent("pa", MAX_AGE)
        if codes & NEEDS_FMX:
            ok = ok and recent("big", SRP_MAX_AGE)
        if not ok:
            drop(person, visit)


def drop(person: Person, visit: Visit) -> None:
    """Take a visit off the book; planned treatment stays on the plan."""
    person.visits.remove(visit)
    for proc in visit.procs:
        if proc.planned is not None:
            proc.visit = None
        else:
            person.procs.remove(proc)
