"""Patients with one planted problem each, for every rule in the catalog.

Each planted patient is otherwise clean: recent radiographs and health
history, verified coverage, consistent providers and lengths, so that the
planted rule is the only one that fires (exceptions are said in ``what``).

A case returns the patient, the appointment the problem is about (or None)
and the subject record (procedure, coverage or referral; or None).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pms_bridge.sample.opendental_enums import BROKEN, EO, REF_TO
from pms_bridge.sample.planter import (
    RECALL,
    SRP,
    Planted,
    Planter,
    Subject,
    crown,
    other_than,
    proc_of,
)
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.records import Person, Proc, RefLink, Visit

Case = Callable[[Planter], Subject]
CASES: list[tuple[str, str, Case]] = []


def case(rule: str, what: str) -> Callable[[Case], Case]:
    def register(build: Case) -> Case:
        CASES.append((rule, what, build))
        return build

    return register


@case(
    "SCH001",
    "crown D2740 on a restorative appointment charted to a hygienist (the hygienist is also "
    "the appointment's ProvHyg, so SCH002 does not apply)",
)
def sch001_crown_by_hygienist(pl: Planter) -> Subject:
    person = pl.regular(pa_tooth="30")
    hyg = pl.pr.hygienists[0]
    visit = pl.visit(person, "rest", 6, crown("30"), lo=3, hyg=hyg, by={"D2740": hyg})
    visit.is_hygiene = False
    return person, visit, proc_of(visit, "D2740")


@case(
    "SCH001",
    "hygiene appointment (IsHygiene=1, prophy D1110) with ProvHyg=0; all its procedures are "
    "charted to the appointment's dentist",
)
def sch001_hygiene_without_hygienist(pl: Planter) -> Subject:
    person = pl.regular()
    visit = pl.visit(person, "recall", 5, RECALL, lo=2, hyg=0)
    visit.is_hygiene = True
    return person, visit, None


@case(
    "SCH002",
    "procedure charted to a provider who is neither the appointment's provider nor its "
    "hygienist (a composite by another dentist; with a single doctor, a prophy by another hygienist)",
)
def sch002_other_dentist(pl: Planter) -> Subject:
    pr = pl.pr
    other = other_than(pr.dentists + pr.specialists, pr.dentists[0])
    if not other:
        return sch002_other_hygienist(pl)
    person = pl.regular()
    filling = (("D2392", "19", "MO"),)
    visit = pl.visit(person, "rest", 9, filling, lo=4, prov=pr.dentists[0], by={"D2392": other})
    return person, visit, visit.procs[0]


@case("SCH002", "prophy charted to a different hygienist than the appointment's ProvHyg")
def sch002_other_hygienist(pl: Planter) -> Subject:
    pr = pl.pr
    person = pl.regular()
    hyg = pr.hygienists[0]
    other = other_than(pr.hygienists, hyg) or pr.former
    visit = pl.visit(person, "recall", 10, RECALL, lo=6, hyg=hyg, by={"D1110": other})
    return person, visit, proc_of(visit, "D1110")


@case("SCH003", "scheduled restorative-type appointment (30 min) with no procedures attached")
def sch003_restorative(pl: Planter) -> Subject:
    person = pl.regular()
    visit = pl.visit(person, "rest", 8, (), lo=5, pattern="/XXXX/")
    visit.apt_type = "Restorative"
    return person, visit, None


@case("SCH003", "scheduled appointment (30 min, no appointment type) with no procedures attached")
def sch003_untyped(pl: Planter) -> Subject:
    person = pl.regular(covered=False)
    visit = pl.visit(person, "rest", 11, (), lo=8, pattern="//XX//")
    visit.apt_type = ""
    return person, visit, None


@case("SCH004", "crown prep D2740 (ProcTime 90 min) booked for 30 minutes")
def sch004_crown_too_short(pl: Planter) -> Subject:
    person = pl.regular(pa_tooth="14")
    return person, pl.visit(person, "rest", 7, (("D2740", "14", ""),), lo=4, pattern="/XXXX/"), None


@case("SCH004", "one-surface composite (ProcTime 30 min) booked for 90 minutes")
def sch004_filling_too_long(pl: Planter) -> Subject:
    person = pl.regular(covered=False)
    long_pattern = "/" + "X" * 16 + "/"
    return person, pl.visit(person, "rest", 12, (("D2391", "20", "O"),), lo=9, pattern=long_pattern), None


@case(
    "XR001",
    "new patient (first contact 4 days ago) with a new-patient visit in the window and no "
    "radiograph of any kind on file",
)
def xr001_new_without_xrays(pl: Planter) -> Subject:
    person = pl.newcomer(4)
    return person, pl.first_visit(person, 1, 6), None


@case(
    "XR001",
    "referred-in new patient whose only radiograph (FMX from the referring office) is about 14 months old",
)
def xr001_referred_old_xrays(pl: Planter) -> Subject:
    person = pl.newcomer(6, referral=pl.pr.doctors["General"][0], xray_days_ago=425)
    pl.cover(person, verified=2)
    return person, pl.first_visit(person, 1, 4), None


@case("XR002", "SRP D4341 scheduled; the last FMX is about 30 months old, no pano (bitewings 6 months ago)")
def xr002_srp_old_fmx(pl: Planter) -> Subject:
    person = pl.regular((912, 730, 545, 365, 180), fmx=912)
    visit = pl.visit(person, "srp", 9, SRP, lo=4)
    return person, visit, visit.procs[0]


@case(
    "XR002",
    "crown D2740 scheduled with no periapical/FMX/pano in 12 months (only bitewings 6 months "
    "ago; FMX 3 years ago)",
)
def xr002_crown_bitewings_only(pl: Planter) -> Subject:
    person = pl.regular((1100, 900, 730, 545, 365, 180), fmx=1100, bws=(545, 180))
    visit = pl.visit(person, "rest", 10, crown("3"), lo=5)
    return person, visit, proc_of(visit, "D2740")


@case("FRM001", "new patient with a visit in the window: health history on file, no registration form")
def frm001_no_registration(pl: Planter) -> Subject:
    person = pl.newcomer(3, xray_days_ago=2, registration=False)
    return person, pl.first_visit(person, 2, 7), None


@case("FRM001", "new patient whose only registration form is deleted (IsDeleted=1)")
def frm001_deleted_registration(pl: Planter) -> Subject:
    person = pl.newcomer(5, xray_days_ago=3, deleted_registration=True)
    pl.cover(person, verified=1)
    return person, pl.first_visit(person, 1, 5), None


@case(
    "FRM001",
    "new patient whose only patient form is the HIPAA acknowledgment (SheetType PatientForm, which Open Dental "
    "ships for HIPAA too: not a registration)",
)
def frm001_hipaa_only(pl: Planter) -> Subject:
    person = pl.newcomer(4, xray_days_ago=2, registration=False)
    person.patient_form(pl.pr.soon_after(person.entry), "HIPAA")
    return person, pl.first_visit(person, 1, 6), None


@case("FRM002", "established patient whose last health history is about 14 months old")
def frm002_old_history(pl: Planter) -> Subject:
    person = pl.regular((1000, 800, 610, 425, 240), fmx=1000, bws=(425, 240), mh_from=420)
    return person, pl.visit(person, "recall", 8, RECALL, lo=3), None


@case("FRM002", "the health history from 100 days ago is deleted; the last valid one is about 16 months old")
def frm002_deleted_history(pl: Planter) -> Subject:
    person = pl.regular((900, 700, 480, 300, 100), fmx=900, bws=(300, 100), mh_from=480, covered=False)
    last = max(person.visits, key=lambda v: v.start)
    person.health_history(last.start - timedelta(minutes=10), deleted=True)
    return person, pl.visit(person, "recall", 12, RECALL, lo=6), None


@case("INS001", "coverage DateTerm 20 days ago, before the appointment; the patplan is still attached")
def ins001_terminated(pl: Planter) -> Subject:
    person = pl.regular(term=20, verified=40)
    return person, pl.visit(person, "recall", 10, RECALL, lo=5), person.covs[0]


@case("INS001", "latest eligibility verification (5 days ago) has status Inactive")
def ins001_inactive_result(pl: Planter) -> Subject:
    person = pl.regular(verified=5, status="Inactive")
    return person, pl.visit(person, "recall", 12, RECALL, lo=4), person.covs[0]


def _due_in_two_days(pl: Planter, plan_verified_days_ago: int, **cover: Any) -> Subject:
    """An appointment within 2 days on a plan of its own (so no other patient's checks count)."""
    plan = pl.pr.new_plan(pl.pr.carriers[0], verified_days_ago=plan_verified_days_ago)
    person = pl.regular(plan=plan, **cover)
    return person, pl.visit(person, "recall", 2, RECALL, lo=1), person.covs[0]


@case(
    "INS002",
    "appointment within 2 days; eligibility last verified 45 days ago (the plan's benefits 120 days ago)",
)
def ins002_stale(pl: Planter) -> Subject:
    return _due_in_two_days(pl, 120, verified=45)


@case(
    "INS002",
    "appointment within 2 days; the eligibility row was never verified (DateLastVerified unset, no status)",
)
def ins002_never(pl: Planter) -> Subject:
    return _due_in_two_days(pl, 150, verified=None, status=None)


@case("INS003", "coverage with an empty SubscriberID")
def ins003_no_subscriber_id(pl: Planter) -> Subject:
    person = pl.regular(subscriber_id="")
    return person, pl.visit(person, "recall", 11, RECALL, lo=5), person.covs[0]


@case("INS003", "coverage whose insurance plan has no carrier (CarrierNum 0)")
def ins003_no_carrier(pl: Planter) -> Subject:
    person = pl.regular(plan=pl.pr.new_plan(0))
    return person, pl.visit(person, "recall", 12, RECALL, lo=6), person.covs[0]


@case("REF001", "referred in by a dentist 5 days ago; no appointment booked")
def ref001_referred_unbooked(pl: Planter) -> Subject:
    person = pl.newcomer(5, referral=pl.pr.doctors["General"][-1])
    return person, None, person.refs[0]


@case("REF001", "first contact 3 days ago; no appointment booked")
def ref001_contact_unbooked(pl: Planter) -> Subject:
    return pl.newcomer(3), None, None


@case("REF002", "referred in 6 days ago; first appointment booked 15-18 days after the referral")
def ref002_referred_late(pl: Planter) -> Subject:
    person = pl.newcomer(6, referral=pl.pr.sources[0], xray_days_ago=4)
    return person, pl.first_visit(person, 9, 12), person.refs[0]


@case("REF002", "first contact 3 days ago; first appointment booked 13-15 days later")
def ref002_contact_late(pl: Planter) -> Subject:
    person = pl.newcomer(3, xray_days_ago=2)
    pl.cover(person, verified=1)
    return person, pl.first_visit(person, 10, 12), None


BROKEN_NOTE = " (may also read as REF001 if broken appointments are not counted as appointments)"


@case(
    "REF003",
    "referred in 15 days ago; the only appointment (10 days ago) was broken and not rebooked" + BROKEN_NOTE,
)
def ref003_referred_broken(pl: Planter) -> Subject:
    person = pl.newcomer(15, referral=pl.pr.doctors["General"][0])
    return person, pl.broken_first_visit(person, -10), person.refs[0]


@case(
    "REF003",
    "first contact 25 days ago; the only appointment (18 days ago) was broken and not rebooked" + BROKEN_NOTE,
)
def ref003_contact_broken(pl: Planter) -> Subject:
    person = pl.newcomer(25)
    return person, pl.broken_first_visit(person, -18), None


def _referred_out(pl: Planter, days_ago: int) -> Subject:
    pr = pl.pr
    person = pl.regular((730, 545, 365, 180, days_ago))
    on = max(v.day for v in person.visits)
    link = RefLink(pr.doctors["Oral Surgery"][0], on, REF_TO, prov=person.pri_prov, stamp=pr.entry_at(on))
    person.refs.append(link)
    return person, None, link


@case("REF004", "referred out to an oral surgeon about 40 days ago; RefToStatus still None")
def ref004_forty_days(pl: Planter) -> Subject:
    return _referred_out(pl, 40)


@case("REF004", "referred out to an oral surgeon about 55 days ago; RefToStatus still None")
def ref004_fifty_five_days(pl: Planter) -> Subject:
    return _referred_out(pl, 55)


def _unconfirmed_recall(pl: Planter, first: int, last: int) -> tuple[Person, Visit]:
    """An established patient's recall between the ``first``-th and ``last``-th business day, status Left Msg."""
    person = pl.regular()
    visit = pl.visit(person, "recall", pl.business_day(last), RECALL, lo=pl.business_day(first))
    visit.unconfirmed = True
    return person, visit


@case("APT001", "recall visit on the first or second business day from today whose confirmation status is Left Msg")
def apt001_left_message(pl: Planter) -> Subject:
    return *_unconfirmed_recall(pl, 1, 2), None


@case("APT001", "recall visit on the next business day, confirmation status Left Msg")
def apt001_next_business_day(pl: Planter) -> Subject:
    return *_unconfirmed_recall(pl, 1, 1), None


def _broken_recall(pl: Planter, days_ago: int) -> tuple[Person, Visit]:
    """An established patient whose recall visit ``days_ago`` was broken (no procedures were attached)."""
    person = pl.regular()
    visit = pl.visit(person, "recall", -days_ago, (), leeway=1, pattern="/XXXXXXXXXX/")
    visit.status = BROKEN
    return person, visit


@case("APT002", "established patient whose recall about 12 days ago was broken; nothing booked or seen since")
def apt002_broken_recall(pl: Planter) -> Subject:
    person, _ = _broken_recall(pl, 12)
    return person, None, None


@case("APT002", "established patient whose recall about 25 days ago was broken; nothing booked or seen since")
def apt002_broken_weeks_ago(pl: Planter) -> Subject:
    person, _ = _broken_recall(pl, 25)
    return person, None, None


def _declined_crown(pl: Planter, tooth: str, covered: bool = True,
                    visits: tuple[int, ...] = (730, 545, 365, 180)) -> tuple[Person, Proc]:
    """An established patient whose last exam (``visits``: days ago) found a crown that was never booked."""
    person = pl.regular(visits, covered=covered)
    last = max(person.visits, key=lambda v: v.start)
    return person, person.add_proc(None, "D2740", last.prov, tooth, diagnosed=last.start)


@case("TX001", "crown D2740 treatment-planned at the exam about 180 days ago, never scheduled")
def tx001_crown_unscheduled(pl: Planter) -> Subject:
    person, proc = _declined_crown(pl, "19")
    return person, None, proc


@case("TX001", "crown and build-up planned about 180 days ago for an uninsured patient, never scheduled")
def tx001_uninsured(pl: Planter) -> Subject:
    person, proc = _declined_crown(pl, "3", covered=False)
    person.add_proc(None, "D2950", proc.prov, "3", diagnosed=proc.diagnosed)
    return person, None, proc


def _last_claim(pl: Planter, visits: tuple[int, ...], claim: str) -> Person:
    """An insured established patient whose last visit's claim is ``claim`` ("none", or a ClaimStatus)."""
    person = pl.regular(visits)
    max(person.visits, key=lambda v: v.start).claim = claim
    return person


@case("CLM001", "insured patient's visit about 10 days ago whose claim was never made (lines still estimates)")
def clm001_no_claim(pl: Planter) -> Subject:
    return _last_claim(pl, (730, 545, 365, 180, 10), "none"), None, None


@case("CLM001", "insured patient's visit about 40 days ago whose claim is still unsent (U)")
def clm001_unsent(pl: Planter) -> Subject:
    return _last_claim(pl, (730, 545, 365, 180, 40), "U"), None, None


@case("CLM002", "claim for a visit about 45 days ago, sent two days after it and still not received")
def clm002_unpaid(pl: Planter) -> Subject:
    return _last_claim(pl, (730, 545, 365, 180, 45), "S"), None, None


@case("CLM002", "claim for a visit about 90 days ago, sent and still not received")
def clm002_unpaid_long(pl: Planter) -> Subject:
    return _last_claim(pl, (730, 545, 365, 90), "S"), None, None


@case("PA001", "crown D2740 booked in the window for an insured patient; no pre-authorization was sent")
def pa001_crown(pl: Planter) -> Subject:
    person = pl.regular(pa_tooth="18")
    visit = pl.visit(person, "rest", 12, crown("18"), lo=6)
    visit.preauth = False
    return person, visit, proc_of(visit, "D2740")


@case("PA001", "SRP D4341 booked in the window for an insured patient; no pre-authorization was sent")
def pa001_srp(pl: Planter) -> Subject:
    person = pl.regular((700, 545, 365, 180), fmx=365)
    visit = pl.visit(person, "srp", 11, SRP, lo=6)
    visit.preauth = False
    return person, visit, visit.procs[0]


# Controls: patients that look like a problem to a naive reading but are not one. They make no
# finding, so planted.json does not list them.
Control = Callable[[Planter], Person]
CONTROLS: list[tuple[str, Control]] = []


def control(what: str) -> Callable[[Control], Control]:
    def register(build: Control) -> Control:
        CONTROLS.append((what, build))
        return build

    return register


@control("new patient whose registration came as an eForm (Patient Registration, Open Dental 24.3+), no sheet")
def eform_registration(pl: Planter) -> Person:
    person = pl.newcomer(4, xray_days_ago=3, registration=False)
    person.patient_form(pl.pr.soon_after(person.entry), "Patient Registration", eform=True)
    pl.first_visit(person, 1, 5)
    return person


@control("new patient whose only radiograph is an FMX charted as existing from another office (EO), 3 months old")
def outside_films(pl: Planter) -> Person:
    person = pl.newcomer(4)
    film = person.add_proc(None, "D0210", person.pri_prov, diagnosed=pl.pr.now - timedelta(days=90))
    film.status = EO
    pl.first_visit(person, 1, 5)
    return person


@control("APT001 near miss: unconfirmed visit on the third business day, after the rule's two")
def unconfirmed_later(pl: Planter) -> Person:
    return _unconfirmed_recall(pl, 3, 3)[0]


@control("APT002 near miss: recall broken about 12 days ago, rebooked in the window")
def broken_and_rebooked(pl: Planter) -> Person:
    person, _ = _broken_recall(pl, 12)
    pl.visit(person, "recall", 10, RECALL, lo=5)
    return person


@control("APT002 near miss: recall broken about 40 days ago, outside the 30 days looked at")
def broken_long_ago(pl: Planter) -> Person:
    return _broken_recall(pl, 40)[0]


@control("TX001 near miss: crown planned at an exam about 10 days ago (not yet 14 days)")
def planned_lately(pl: Planter) -> Person:
    return _declined_crown(pl, "30", visits=(730, 545, 365, 180, 10))[0]


@control("TX001 near miss: crown planned about 20 months ago for a patient not seen since (18 months looked at)")
def planned_not_seen(pl: Planter) -> Person:
    return _declined_crown(pl, "14", visits=(1000, 800, 610))[0]


@control("CLM001 near miss: visit about 10 days ago whose claim is on hold (H): held claims are excepted")
def claim_on_hold(pl: Planter) -> Person:
    return _last_claim(pl, (730, 545, 365, 180, 10), "H")


@control("CLM002 near miss: claim for a visit about 27 days ago, sent and not received yet (30 days allowed)")
def claim_sent_lately(pl: Planter) -> Person:
    return _last_claim(pl, (730, 545, 365, 180, 27), "S")


@control("PA001 near miss: crown booked in the window for a patient without insurance")
def crown_uninsured(pl: Planter) -> Person:
    person = pl.regular(pa_tooth="31", covered=False)
    pl.visit(person, "rest", 12, crown("31"), lo=6)
    return person


def plant(pr: Practice) -> list[Planted]:
    """Build and write every case and control; the planted problems in case order."""
    planter = Planter(pr)
    planted = []
    for rule, what, build in CASES:
        person, visit, subject = build(planter)
        planter.write(person)
        planted.append(Planted(rule, person, visit, subject, what))
    for _, build_control in CONTROLS:
        planter.write(build_control(planter))
    return planted
