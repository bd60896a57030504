"""Write a patient's story as Open Dental rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pms_bridge.sample.codes import (
    CODE_BY_ID,
    HYGIENE_KINDS,
    TYPE_OF_KIND,
    XRAY_CATEGORY,
    needs_preauth,
)
from pms_bridge.sample.opendental_enums import (
    BROKEN,
    COMPLETE,
    CP_ESTIMATE,
    CP_NOT_RECEIVED,
    CP_PREAUTH,
    CP_RECEIVED,
    DEF_APPT_CONFIRMED,
    DEF_IMAGE_CATS,
    DEF_INS_VERIFY_STATUS,
    EFORM_IMPORTED,
    EFORM_TYPE,
    IMG_RADIOGRAPH,
    PLANNED,
    SCHEDULED,
    SHEET_CONSENT,
    SHEET_MEDICAL_HISTORY,
    SHEET_PATIENT_FORM,
    TP,
    TPI,
    UNSCHED_LIST,
    VERIFY_PATIENT_ENROLLMENT,
    C,
    number,
)
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.records import Doc, InsSub, PatCov, Person, Proc, Sheet, Visit
from pms_bridge.sample.tables import NO_DATE, NO_DATETIME, Money

UNSCHEDULED_AFTER_DAYS = 180  # older broken visits, well before any referral or first-contact window
CONFIRMED_AHEAD_DAYS = 7  # the office confirms every visit of the coming week (planted ones excepted)
CLAIM_AFTER_DAYS = 3  # a visit's claim goes out within this many days


def write_household(pr: Practice, members: list[Person], subs: list[InsSub]) -> None:
    for sub in subs:
        write_sub(pr, sub)
    for person in members:
        write_person(pr, person)


def write_sub(pr: Practice, sub: InsSub) -> None:
    edited = sub.added
    if sub.term is not None and sub.term < pr.today:
        edited = max(edited, pr.entry_at(sub.term))
    sub.num = pr.t.add(
        "inssub",
        sub.plan.num,
        sub.subscriber.num,
        sub.effective,
        sub.term or NO_DATE,
        sub.subscriber_id,
        min(edited, pr.now),
    )


def write_person(pr: Practice, person: Person) -> None:
    visits = sorted(person.visits, key=lambda v: (v.start, v.status))
    _patient(pr, person, visits)
    prev_end: datetime | None = None
    for visit in visits:
        _appointment(pr, person, visit, prev_end)
        if visit.status == COMPLETE:
            prev_end = _end(visit)
    for proc in person.procs:
        _procedure(pr, person, proc)
    for sheet in person.sheets:
        edited = sheet.at + timedelta(days=1) if sheet.deleted else sheet.at
        if sheet.eform:
            _eform(pr, person, sheet)
            continue
        pr.t.add(
            "sheet",
            sheet.sheet_type,
            person.num,
            sheet.at,
            sheet.description,
            sheet.web,
            sheet.deleted,
            min(edited, pr.now),
        )
    _documents(pr, person, visits)
    for link in person.refs:
        stamp = link.stamp or datetime.combine(link.on, time(12))
        link.num = pr.t.add(
            "refattach",
            link.referral,
            person.num,
            link.on,
            link.ref_type,
            link.status,
            0,
            link.done or NO_DATE,
            link.prov,
            min(stamp, pr.now),
        )
    for cov in person.covs:
        if not cov.dropped:
            _coverage(pr, person, cov, visits)
    _claims(pr, person, visits)


# SheetTypeEnum -> EnumEFormType
EFORM_TYPE_OF_SHEET = {
    SHEET_PATIENT_FORM: number(EFORM_TYPE, "PatientForm"),
    SHEET_MEDICAL_HISTORY: number(EFORM_TYPE, "MedicalHistory"),
    SHEET_CONSENT: number(EFORM_TYPE, "Consent"),
}


def _eform(pr: Practice, person: Person, sheet: Sheet) -> None:
    at = min(sheet.at, pr.now)
    pr.t.add("eform", EFORM_TYPE_OF_SHEET[sheet.sheet_type], person.num, at, sheet.description, at, 0, EFORM_IMPORTED)


def _end(visit: Visit) -> datetime:
    return visit.start + timedelta(minutes=5 * len(visit.time_pattern()))


def _patient(pr: Practice, person: Person, visits: list[Visit]) -> None:
    touched = [person.entry]
    touched += [_end(v) for v in visits if v.status == COMPLETE]
    touched += [v.booked for v in visits if v.status == SCHEDULED and v.booked]
    first = person.first_visit()
    pr.t.write(
        "patient",
        person.num,
        person.last,
        person.first,
        person.preferred,
        person.status,
        person.gender,
        person.birth,
        person.phone,
        person.email,
        person.pri_prov,
        first or NO_DATE,
        person.entry.date(),
        min(max(touched), pr.now),
    )


def _booked(pr: Practice, person: Person, visit: Visit, prev_end: datetime | None) -> datetime:
    if visit.booked is not None:
        booked = visit.booked
    elif prev_end is not None and prev_end < visit.start:
        booked = prev_end  # booked at check-out of the previous visit
    else:
        booked = max(person.entry, visit.start - timedelta(days=pr.rng.randint(10, 60)))
    return min(booked, visit.start, pr.now - timedelta(minutes=5))


def _confirmed(pr: Practice, person: Person, visit: Visit) -> int:
    rng = pr.rng
    if visit.status == COMPLETE:
        name = "Appointment Confirmed" if rng.random() < 0.85 else "Texted"
        # Live offices: eConfirm's own status, and the patient-flow state a visit ended in.
        if name == "Appointment Confirmed" and person.num % 3 == 0:
            name = "AppointmentConfirmed"
        elif name == "Texted" and person.num % 2 == 0:
            name = ("Arrived", "Ready to go back", "In Treatment Room")[person.num % 3]
    elif visit.status == SCHEDULED and (visit.day - pr.today).days <= 2:
        name = rng.choice(("Appointment Confirmed", "Appointment Confirmed", "Texted", "Left Msg"))
    elif visit.status in (SCHEDULED, BROKEN):
        name = rng.choice(("Unconfirmed", "Not Called", "Left Msg", "Texted"))
    else:
        name = "Not Called"
    # Decided after the draws above, so that the rest of the practice comes out the same.
    if visit.status == SCHEDULED and visit.unconfirmed:
        name = "Left Msg"
    elif visit.status == SCHEDULED and (visit.day - pr.today).days <= CONFIRMED_AHEAD_DAYS:
        name = "Appointment Confirmed"
    return pr.defs[(DEF_APPT_CONFIRMED, name)]


def _appointment(pr: Practice, person: Person, visit: Visit, prev_end: datetime | None) -> None:
    booked = _booked(pr, person, visit, prev_end)
    visit.booked = booked
    if visit.status == COMPLETE:
        stamp = _end(visit) + timedelta(minutes=10)
    elif visit.status == BROKEN:
        stamp = visit.start + timedelta(minutes=15)
    elif visit.status == SCHEDULED:
        stamp = max(booked, pr.now - timedelta(hours=pr.rng.randint(1, 72)))
    else:
        stamp = booked
    if visit.apt_type is None:
        name = TYPE_OF_KIND.get(visit.kind, "")
        type_num = pr.types[name] if name and pr.rng.random() > 0.15 else 0
    else:
        type_num = pr.types[visit.apt_type] if visit.apt_type else 0
    is_hygiene = visit.is_hygiene if visit.is_hygiene is not None else visit.kind in HYGIENE_KINDS
    status, start = visit.status, visit.start
    if status == PLANNED:  # Open Dental keeps planned appointments undated
        start = NO_DATETIME
    elif status == BROKEN and visit.day < pr.today - timedelta(days=UNSCHEDULED_AFTER_DAYS) and person.num % 3 == 0:
        status, start = UNSCHED_LIST, NO_DATETIME  # an old broken visit sent to the unscheduled list
    visit.num = pr.t.add(
        "appointment",
        person.num,
        status,
        visit.time_pattern(),
        _confirmed(pr, person, visit),
        0 if visit.status == PLANNED else visit.op,
        visit.prov,
        visit.hyg,
        start,
        visit.is_new,
        is_hygiene,
        type_num,
        booked,
        min(stamp, pr.now),
    )


def _procedure(pr: Practice, person: Person, proc: Proc) -> None:
    visit = proc.visit
    done = visit is not None and visit.status == COMPLETE
    planned_on = proc.diagnosed or (visit.booked if visit and visit.booked else person.entry)
    if visit is not None:
        proc_date = visit.day
        stamp = _end(visit) if done else max(planned_on, visit.booked or planned_on)
    else:
        proc_date, stamp = planned_on.date(), planned_on
    code = CODE_BY_ID[proc.code]
    proc.num = pr.t.add(
        "procedurelog",
        person.num,
        visit.num if visit else 0,
        proc.planned.num if proc.planned else 0,
        proc_date,
        Money(code.fee),
        proc.surf,
        proc.tooth,
        proc.status or (C if done else _planned_status(proc)),
        proc.prov,
        pr.code_nums[proc.code],
        min(planned_on, pr.now).date(),
        min(stamp, pr.now),
    )


def _planned_status(proc: Proc) -> int:
    """Treatment the background patient did not go ahead with (on a planned appointment, never booked) is
    set inactive, as an office does once the patient declines: the unscheduled-treatment list holds only
    what a coordinator still has to call about."""
    return TPI if proc.visit is None and proc.planned is not None else TP


def _documents(pr: Practice, person: Person, visits: list[Visit]) -> None:
    docs = list(person.docs)
    for visit in visits:
        if visit.status != COMPLETE:
            continue
        for proc in visit.procs:
            category = XRAY_CATEGORY.get(proc.code)
            if category:
                docs.append(
                    Doc(
                        category,
                        visit.start + timedelta(minutes=15),
                        IMG_RADIOGRAPH,
                        CODE_BY_ID[proc.code].abbr,
                    )
                )
    for doc in sorted(docs, key=lambda d: d.at):
        if doc.category in MOUNTED_CATEGORIES and doc.img_type == IMG_RADIOGRAPH:
            _mount(pr, person, doc)
            continue
        _document(pr, person, doc, 0)


# Radiograph series the sample files as mounts (Open Dental's imaging module acquires an FMX into one),
# and how many images each holds (a real FMX holds 18 to 20; a few keep the files small).
MOUNTED_CATEGORIES = frozenset({"FMXs"})
MOUNT_IMAGES = 4


def _document(pr: Practice, person: Person, doc: Doc, mount_item: int) -> None:
    pr.t.add(
        "document",
        person.num,
        pr.defs[(DEF_IMAGE_CATS, doc.category)],
        doc.at,
        doc.img_type,
        doc.teeth,
        doc.description,
        min(doc.at, pr.now),
        mount_item,
    )


def _mount(pr: Practice, person: Person, doc: Doc) -> None:
    """A series filed as a mount: the mount row, then each image in its own mount item."""
    mount = pr.t.add("mount", person.num, pr.defs[(DEF_IMAGE_CATS, doc.category)], doc.at, doc.description)
    for order in range(1, MOUNT_IMAGES + 1):
        _document(pr, person, doc, pr.t.add("mountitem", mount, order))


def _coverage(pr: Practice, person: Person, cov: PatCov, visits: list[Visit]) -> None:
    rng = pr.rng
    cov.num = pr.t.add(
        "patplan", person.num, cov.ordinal, False, cov.relationship, cov.sub.num, min(cov.added, pr.now)
    )
    verified = cov.verified
    if verified == "auto":
        added = cov.added.date()
        if any(v.status == SCHEDULED for v in visits):
            verified = max(added, pr.today - timedelta(days=rng.randint(1, 20)))
        else:
            seen = [v.day for v in visits if v.status == COMPLETE and v.day >= added]
            verified = max(seen, default=added) - timedelta(days=rng.randint(0, 3))
            verified = max(verified, added)
    assert not isinstance(verified, str)
    label = cov.status
    if label == "Verified" and person.num % 4 == 0:  # a re-check under way: the last verification's date stands
        label = ("Attempted", "See Notes", "ServiceError")[person.num % 3]
    status = pr.defs[(DEF_INS_VERIFY_STATUS, label)] if label else 0
    edited = (
        datetime.combine(verified, time(9 + rng.randrange(8), rng.randrange(60))) if verified else cov.added
    )
    pr.t.add("insverify", verified or NO_DATE, VERIFY_PATIENT_ENROLLMENT, cov.num, status, min(edited, pr.now))


def _share(code: str) -> int:
    if code.startswith(("D0", "D1")):
        return 100
    if code.startswith(("D27", "D29", "D5", "D6")):
        return 50
    return 80


def _claims(pr: Practice, person: Person, visits: list[Visit]) -> None:
    for visit in visits:
        if visit.status == SCHEDULED:
            _booked_lines(pr, person, visit)
        if visit.status != COMPLETE or not visit.procs:
            continue
        fee = sum(CODE_BY_ID[p.code].fee for p in visit.procs)
        estimate = sum(CODE_BY_ID[p.code].fee * _share(p.code) // 100 for p in visit.procs)
        primary_paid: date | None = None
        for cov in sorted(person.covs, key=lambda c: c.ordinal):
            if not cov.sub.covers(visit.day):
                continue
            if visit.claim == "none":  # not made yet: the lines are still estimates
                _lines(pr, person, visit.procs, 0, CP_ESTIMATE, cov, visit.day)
                continue
            if cov.ordinal == 1:
                est = estimate
                primary_paid = _claim(pr, person, visit, cov, "P", fee, est, visit.day)
            else:
                est = min(fee - estimate, fee // 5)
                _claim(pr, person, visit, cov, "S", fee, est, primary_paid)


def _booked_lines(pr: Practice, person: Person, visit: Visit) -> None:
    """A booked visit's estimates with the insurance that covers its day, and its pre-authorization."""
    for cov in sorted(person.covs, key=lambda c: c.ordinal):
        if not cov.sub.covers(visit.day):
            continue
        major = [p for p in visit.procs if needs_preauth(p.code)]
        if major and visit.preauth and cov.ordinal == 1:
            _preauth(pr, person, visit, cov, major)
        _lines(pr, person, [p for p in visit.procs if p not in major or not visit.preauth or cov.ordinal != 1],
               0, CP_ESTIMATE, cov, visit.day)


def _preauth(pr: Practice, person: Person, visit: Visit, cov: PatCov, procs: list[Proc]) -> None:
    """Sent when the visit was booked; the carrier answered within two weeks."""
    booked = (visit.booked or pr.now).date()
    sent = min(booked + timedelta(days=1), pr.today - timedelta(days=1))
    answered = sent + timedelta(days=14)
    received = answered if answered < pr.today else None
    fee = sum(CODE_BY_ID[p.code].fee for p in procs)
    est = sum(CODE_BY_ID[p.code].fee * _share(p.code) // 100 for p in procs)
    claim = pr.t.add(
        "claim", person.num, visit.day, sent, "R" if received else "S", received or NO_DATE, cov.sub.plan.num,
        visit.prov, Money(fee), Money(est), Money(0), "PreAuth", cov.sub.num,
        min(datetime.combine(received or sent, time(11)), pr.now),
    )
    _lines(pr, person, procs, claim, CP_PREAUTH, cov, visit.day)


def _lines(pr: Practice, person: Person, procs: list[Proc], claim: int, status: int, cov: PatCov, day: date) -> None:
    """One claimproc per procedure with this coverage's plan."""
    for proc in procs:
        fee = CODE_BY_ID[proc.code].fee
        estimate = fee * _share(proc.code) // 100 if cov.ordinal == 1 else 0
        pr.t.add("claimproc", proc.num, claim, person.num, status, day, Money(fee), Money(estimate),
                 cov.sub.plan.num, cov.sub.num, min(datetime.combine(day, time(17)), pr.now))


def _claim(
    pr: Practice, person: Person, visit: Visit, cov: PatCov, kind: str, fee: int, est: int, ready: date | None
) -> date | None:
    """One claim and its lines; returns the day insurance paid it, if it has."""
    rng = pr.rng
    sent = received = None
    if ready is None:
        status = "H"  # secondary waiting for the primary's payment
    elif ready >= pr.today - timedelta(days=CLAIM_AFTER_DAYS) and rng.random() < 0.6:
        status = rng.choice("UW")  # not sent yet
        if ready <= pr.today - timedelta(days=CLAIM_AFTER_DAYS):  # its day to go out has come: it went
            status, sent = "S", pr.today - timedelta(days=1)
    else:
        sent = min(ready + timedelta(days=rng.randint(0, 2)), pr.today - timedelta(days=1))
        paid_on = sent + timedelta(days=rng.randint(7, 30))
        status, received = ("R", paid_on) if paid_on < pr.today else ("S", None)
    paid = est * rng.randint(90, 100) // 100 if received else 0
    if visit.claim is not None and kind == "P":  # a planted claim state, decided after the draws above
        status = visit.claim
        sent = visit.day + timedelta(days=2) if status == "S" else None
        received, paid = None, 0
    edited = received or sent or visit.day
    claim = pr.t.add(
        "claim",
        person.num,
        visit.day,
        sent or NO_DATE,
        status,
        received or NO_DATE,
        cov.sub.plan.num,
        visit.prov,
        Money(fee),
        Money(est),
        Money(paid),
        kind,
        cov.sub.num,
        min(datetime.combine(edited, time(15, rng.randrange(60))), pr.now),
    )
    _lines(pr, person, visit.procs, claim, CP_RECEIVED if received else CP_NOT_RECEIVED, cov, visit.day)
    return received
