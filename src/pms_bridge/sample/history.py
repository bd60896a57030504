"""Background patients: households, insurance, first visits, recall, treatment.

Everything here is "clean": nothing a coordinator would have to act on.
"""

from __future__ import annotations

from datetime import date, timedelta

from pms_bridge.sample import names
from pms_bridge.sample.charting import finish
from pms_bridge.sample.clinic import (
    EXAM_UNITS,
    NP_UNITS,
    Step,
    follow_up,
    plan_treatment,
    units_of,
)
from pms_bridge.sample.codes import MOLARS
from pms_bridge.sample.opendental_enums import (
    BROKEN,
    CHILD,
    COMPLETE,
    IMG_DOCUMENT,
    IMG_RADIOGRAPH,
    INACTIVE,
    PT_NOTE,
    REF_FROM,
    SCHEDULED,
    SELF,
    SPOUSE,
)
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.records import Doc, InsSub, PatCov, Person, RefLink, Visit

RECALL = timedelta(days=182)


def household(pr: Practice, budget: int) -> tuple[list[Person], list[InsSub]]:
    """A family that joined the practice together, with their insurance."""
    rng = pr.rng
    size = min(budget, rng.choices((1, 2, 3, 4), (45, 25, 18, 12))[0])
    established = rng.random() < 0.55
    if established:
        entry_day = pr.start - timedelta(days=rng.randint(30, 365 * 12))
    else:
        entry_day = pr.start + timedelta(days=rng.randrange((pr.today - pr.start).days))
    entry = pr.entry_at(entry_day)
    head = pr.new_person(entry)
    spouse = pr.new_person(entry, last=head.last) if size > 1 and rng.random() < 0.7 else None
    kids = [pr.new_person(entry, last=head.last, child=True) for _ in range(size - 1 - bool(spouse))]
    members = [head, *([spouse] if spouse else []), *kids]
    subs = insure(pr, head, spouse, members) if rng.random() < 0.75 else []
    source = None
    if rng.random() < (0.25 if established else 0.35):
        source = rng.choice(pr.sources) if rng.random() < 0.6 else rng.choice(pr.doctors["General"])
    endo = (
        not established
        and size == 1
        and bool(pr.specialists)
        and source in pr.doctors["General"]
        and rng.random() < 0.5
    )
    lapse = None
    if (pr.today - pr.start).days > 600 and rng.random() < 0.12:
        lapse = pr.start + timedelta(days=rng.randint(150, (pr.today - pr.start).days - 400))
    for person in members:
        if source is not None:
            person.refs.append(RefLink(source, entry_day, REF_FROM, stamp=entry))
        live(pr, person, new=not established, lapse=lapse, endo=endo)
        if lapse is not None and lapse < pr.today - timedelta(days=540) and rng.random() < 0.5:
            person.status = INACTIVE
    return members, subs


def insure(pr: Practice, head: Person, spouse: Person | None, members: list[Person]) -> list[InsSub]:
    rng = pr.rng
    entry = head.entry

    def new_sub(holder: Person, old: bool = False) -> InsSub:
        effective = entry.date() - timedelta(days=rng.randint(30, 900))
        plan = rng.choice(pr.old_plans) if old and pr.old_plans else pr.pick_plan()
        return InsSub(plan, holder, effective, None, names.subscriber_id(rng), entry)

    primary = new_sub(head)
    subs = [primary]
    lo, hi = max(entry.date(), pr.start) + timedelta(days=60), pr.today - timedelta(days=45)
    if lo < hi and rng.random() < 0.1:  # changed plans during the history
        switch = lo + timedelta(days=rng.randrange((hi - lo).days))
        old = new_sub(head, old=True)
        old.term = switch - timedelta(days=1)
        primary.effective, primary.added = switch, pr.entry_at(switch)
        subs.append(old)
        for person in members:
            person.covs.append(PatCov(old, 1, _relation(person, head, spouse), entry, dropped=True))
    second = new_sub(spouse) if spouse is not None and rng.random() < 0.15 else None
    for sub in (primary, second):
        if sub is not None and rng.random() < 0.6:
            sub.subscriber.docs.append(
                Doc("Patient Info", pr.soon_after(sub.added, 3), IMG_DOCUMENT, "Insurance card")
            )
    for person in members:
        person.covs.append(
            PatCov(
                primary,
                1 + (person is spouse and second is not None),
                _relation(person, head, spouse),
                primary.added,
            )
        )
        if second is not None:
            person.covs.append(
                PatCov(second, 1 + (person is not spouse), _relation(person, spouse, head), entry)
            )
    return subs + ([second] if second else [])


def _relation(person: Person, holder: Person | None, partner: Person | None) -> int:
    if person is holder:
        return SELF
    return SPOUSE if person is partner else CHILD


def live(pr: Practice, person: Person, *, new: bool, lapse: date | None, endo: bool) -> None:
    rng = pr.rng
    if new:
        first = first_visit(pr, person, endo)
        if endo:
            tooth = first.procs[-1].tooth
            code = "D3330" if int(tooth) in MOLARS else "D3320"
            if first.status == COMPLETE:
                follow_up(pr, person, first, [Step("endo", first.prov, 0, ((code, tooth, ""),))])
            finish(pr, person)
            return
        when = first.day + RECALL
    else:
        person.first_visit_before = person.entry.date() + timedelta(days=rng.randint(2, 9))
        person.registration(pr.entry_at(person.first_visit_before))
        when = pr.start + timedelta(days=rng.randrange(14, 182))
    while lapse is None or when < lapse:
        when += timedelta(days=rng.randint(-14, 14))
        if when < pr.today - timedelta(days=400) and rng.random() < 0.07:
            when += RECALL  # skipped a recall
            continue
        visit = recall(pr, person, when)
        if visit is None:
            break
        when = visit.day + RECALL
    emergencies(pr, person, lapse)
    for exam in [v for v in person.visits if v.kind in ("np", "recall") and v.status == COMPLETE]:
        if rng.random() < (0.3 if person.age_on(exam.day) >= 18 else 0.12):
            follow_up(pr, person, exam, plan_treatment(pr, person, exam))
    finish(pr, person)
    add_note(pr, person)


def first_visit(pr: Practice, person: Person, endo: bool) -> Visit:
    """The first visit of a new patient, within 10 days of the first contact (20 long ago)."""
    rng = pr.rng
    entry = person.entry.date()
    recent = entry >= pr.today - timedelta(days=120)
    target = entry + timedelta(days=rng.randint(2, 9 if recent else 18))
    span = pr.span(target, entry + timedelta(days=1), entry + timedelta(days=10 if recent else 20))
    assert span is not None
    if endo:
        visit = pr.schedule(person, "consult", pr.specialist(), 0, target, span, units_of(["D0140", "D0220"]))
        visit.apt_type = "Consult"
        person.add_proc(visit, "D0140", visit.prov)
        person.add_proc(visit, "D0220", visit.prov, str(rng.choice(MOLARS)))
    else:
        visit = pr.schedule(
            person, "np", person.pri_prov, pr.hygienist(person, target), target, span, NP_UNITS
        )
    visit.is_new = True
    visit.booked = pr.soon_after(person.entry, 4)
    if visit.status == SCHEDULED or rng.random() < 0.6:
        person.registration(pr.soon_after(person.entry), web=True)
        person.health_history(pr.soon_after(person.entry), web=True)
    else:
        person.registration(visit.start - timedelta(minutes=15))
    if visit.status == SCHEDULED or endo or rng.random() < 0.3:
        person.docs.append(
            Doc("FMXs", pr.soon_after(person.entry, 20), IMG_RADIOGRAPH, "Radiographs from prior office")
        )
    return visit


def recall(pr: Practice, person: Person, when: date) -> Visit | None:
    span = pr.span(when, when - timedelta(days=7), when + timedelta(days=7))
    if span is None:
        return None
    rng = pr.rng
    visit = pr.schedule(person, "recall", person.pri_prov, pr.hygienist(person, when), when, span, EXAM_UNITS)
    visit.is_hygiene = rng.random() > 0.15  # Open Dental: often left unset on hygiene visits
    if visit.status == COMPLETE and rng.random() < 0.04:
        visit.status, visit.pattern = BROKEN, "/XXXXXXXXXX/"
        return recall(pr, person, visit.day + timedelta(days=rng.randint(7, 21))) or visit
    return visit


def emergencies(pr: Practice, person: Person, lapse: date | None) -> None:
    rng = pr.rng
    first = person.first_visit()
    if first is None:
        return
    lo = max(pr.start, first + timedelta(days=1))
    hi = min(lapse or pr.today, pr.today) - timedelta(days=1)
    if lo >= hi:
        return
    for _ in range(sum(rng.random() < 0.04 for _ in range(1 + (hi - lo).days // 365))):
        day = lo + timedelta(days=rng.randrange((hi - lo).days))
        codes = ["D0140", "D0220", "D9110"]
        visit = pr.schedule(person, "emerg", person.pri_prov, 0, day, (day, hi), units_of(codes))
        visit.booked = visit.start - timedelta(hours=2)
        tooth = str(rng.choice(MOLARS))
        for code in codes:
            person.add_proc(visit, code, visit.prov, tooth if code == "D0220" else "")


def add_note(pr: Practice, person: Person) -> None:
    """Now and then a note on the schedule (AptStatus PtNote) next to a booked visit."""
    booked = [v for v in person.visits if v.status == SCHEDULED]
    if booked and pr.rng.random() < 0.06:
        day = booked[0].day
        note = pr.schedule(person, "note", booked[0].prov, 0, day, (day, day), 2)
        note.status, note.pattern, note.apt_type = PT_NOTE, "XX", ""
