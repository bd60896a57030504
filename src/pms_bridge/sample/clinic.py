"""What happens in the chair: exam visits, treatment found at an exam, its follow-up visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pms_bridge.sample.codes import ANTERIORS, CODE_BY_ID, MOLARS, PREMOLARS
from pms_bridge.sample.opendental_enums import (
    BROKEN,
    COMPLETE,
    IMG_PHOTO,
    PLANNED,
    REF_COMPLETE,
    REF_CONSULTED,
    REF_NONE,
    REF_SCHEDULED,
    REF_TO,
)
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.records import Doc, Person, RefLink, Visit

EXAM_UNITS = 16  # room reserved for a hygiene visit before its procedures are known
NP_UNITS = 19


def exam_procs(person: Person, visit: Visit, xrays: list[str], perio: bool) -> None:
    """A new-patient or recall hygiene visit: exam by the dentist, the rest by the hygienist."""
    by_hyg = visit.hyg or visit.prov
    child = person.age_on(visit.day) < 15
    person.add_proc(visit, "D0150" if visit.kind == "np" else "D0120", visit.prov)
    for code in xrays:
        person.add_proc(visit, code, by_hyg)
    if child:
        cleaning = "D1120"
    elif perio:
        cleaning = "D4910"
    else:
        cleaning = "D1110"
    person.add_proc(visit, cleaning, by_hyg)
    if child:
        person.add_proc(visit, "D1206", by_hyg)
    if visit.pa_teeth and "D0210" not in xrays:
        for i, tooth in enumerate(visit.pa_teeth):
            person.add_proc(visit, "D0230" if i else "D0220", by_hyg, tooth)


@dataclass(frozen=True)
class Step:
    kind: str
    prov: int
    hyg: int
    items: tuple[tuple[str, str, str], ...]  # (code, tooth, surface)


ANTERIOR_FILLS = (("D2330", "F"), ("D2330", "M"), ("D2331", "MF"), ("D2331", "DL"))
POSTERIOR_FILLS = (
    ("D2391", "O"),
    ("D2392", "MO"),
    ("D2392", "DO"),
    ("D2393", "MOD"),
    ("D2140", "O"),
    ("D2150", "DO"),
)


def _filling(pr: Practice, tooth: int) -> tuple[str, str, str]:
    code, surf = pr.rng.choice(ANTERIOR_FILLS if tooth in ANTERIORS else POSTERIOR_FILLS)
    return code, str(tooth), surf


def plan_treatment(pr: Practice, person: Person, exam: Visit) -> list[Step]:
    """Treatment found at ``exam``; records what radiographs the exam must take."""
    rng = pr.rng
    dentist, hyg = exam.prov, pr.hygienist(person, exam.day + timedelta(days=30))
    adult = person.age_on(exam.day) >= 18
    kind = rng.choices(
        ("filling", "crown", "srp", "endo", "ext", "implant", "refer"),
        (45, 18, 6, 6, 6, 3, 8) if adult else (70, 0, 0, 0, 0, 0, 30),
    )[0]
    tooth = rng.choice(MOLARS + PREMOLARS)
    t = str(tooth)
    if kind == "filling":
        teeth = rng.sample(MOLARS + PREMOLARS + ANTERIORS, rng.choice((1, 1, 2)))
        return [Step("rest", dentist, 0, tuple(_filling(pr, x) for x in teeth))]
    if kind == "srp":
        exam.needs_fmx = True
        return [
            Step("srp", dentist, hyg, (("D4341", "", "UR"), ("D4341", "", "LR"))),
            Step("srp", dentist, hyg, (("D4341", "", "UL"), ("D4341", "", "LL"))),
        ]
    if kind == "refer":
        spec = "Orthodontics" if not adult else rng.choice(("Periodontics", "Oral Surgery"))
        person.refs.append(refer_out(pr, rng.choice(pr.doctors[spec]), exam.day, dentist))
        return []
    exam.pa_teeth.append(t)
    crown = (("D2950", t, ""), (rng.choice(("D2740", "D2740", "D2750", "D2790")), t, ""))
    if kind == "crown":
        person.docs.append(Doc("Photos", exam.start + timedelta(minutes=20), IMG_PHOTO, "Intraoral photo", t))
        return [Step("rest", dentist, 0, crown)]
    if kind == "endo":
        endo = "D3330" if tooth in MOLARS else "D3320"
        return [Step("endo", pr.specialist(), 0, ((endo, t, ""),)), Step("rest", dentist, 0, crown)]
    if kind == "ext":
        return [Step("rest", dentist, 0, ((rng.choice(("D7140", "D7140", "D7210")), t, ""),))]
    return [Step("rest", dentist, 0, (("D6010", t, ""),))]


def refer_out(pr: Practice, referral: int, on: date, prov: int) -> RefLink:
    """A referral out; older ones have heard back from the specialist."""
    rng = pr.rng
    age = (pr.today - on).days
    link = RefLink(referral, on, REF_TO, prov=prov)
    if age <= 25:
        link.status = rng.choice((REF_NONE, REF_NONE, REF_SCHEDULED))
        link.stamp = pr.entry_at(on)
        return link
    link.status = rng.choice((REF_SCHEDULED, REF_CONSULTED, REF_COMPLETE, REF_COMPLETE))
    heard = on + timedelta(days=rng.randint(3, min(age - 1, 25)))
    if link.status == REF_COMPLETE:
        link.done = on + timedelta(days=rng.randint(26, max(26, min(age - 1, 120))))
        heard = link.done
    link.stamp = min(pr.entry_at(heard), pr.now)
    return link


def follow_up(pr: Practice, person: Person, exam: Visit, steps: list[Step]) -> None:
    """Planned appointments for the treatment, then the visits that carry it out."""
    rng = pr.rng
    planned = []
    for step in steps:
        plan = Visit(step.kind, exam.start, PLANNED, step.prov, step.hyg, booked=exam.start)
        person.visits.append(plan)
        for code, tooth, surf in step.items:
            proc = person.add_proc(
                None, code, step.prov if not step.hyg else step.hyg, tooth, surf, diagnosed=exam.start
            )
            proc.planned = plan
            plan.procs.append(proc)
        planned.append(plan)
    if rng.random() > 0.85:
        return  # not accepted yet: stays on the treatment plan
    prev = exam
    for plan in planned:
        target = prev.day + timedelta(days=rng.randint(7, 28))
        visit = book_follow_up(pr, person, plan, target, prev)
        if visit is None:
            return
        prev = visit


def book_follow_up(pr: Practice, person: Person, plan: Visit, target: date, prev: Visit) -> Visit | None:
    span = pr.span(target, prev.day + timedelta(days=1), target + timedelta(days=10))
    if span is None:
        return None
    units = len(plan.time_pattern())
    visit = pr.schedule(person, plan.kind, plan.prov, plan.hyg, target, span, units)
    visit.booked = min(prev.start + timedelta(hours=1), pr.now - timedelta(minutes=5))
    if visit.status == COMPLETE and pr.rng.random() < 0.04:
        visit.status, visit.pattern = BROKEN, plan.time_pattern()
        retry = visit.day + timedelta(days=pr.rng.randint(7, 21))
        return book_follow_up(pr, person, plan, retry, visit)
    for proc in plan.procs:
        proc.visit = visit
        visit.procs.append(proc)
    return visit


def units_of(codes: list[str]) -> int:
    return sum(len(CODE_BY_ID[c].proc_time) for c in codes)
