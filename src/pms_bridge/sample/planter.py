"""Building blocks for planted patients: people, histories, coverage, visits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pms_bridge.sample import names
from pms_bridge.sample.clinic import exam_procs, units_of
from pms_bridge.sample.codes import HYGIENE_KINDS, HYGIENIST_SCOPE
from pms_bridge.sample.emit import write_person, write_sub
from pms_bridge.sample.opendental_enums import BROKEN, IMG_RADIOGRAPH, REF_FROM
from pms_bridge.sample.practice import Practice
from pms_bridge.sample.records import (
    Doc,
    InsSub,
    PatCov,
    Person,
    Plan,
    Proc,
    RefLink,
    Visit,
)

Item = tuple[str, str, str]  # code, tooth, surface
NEW_PATIENT: tuple[Item, ...] = (("D0150", "", ""), ("D0210", "", ""), ("D1110", "", ""))
RECALL: tuple[Item, ...] = (("D0120", "", ""), ("D1110", "", ""))
SRP: tuple[Item, ...] = (("D4341", "", "UR"), ("D4341", "", "LR"))


# What a planted case returns: the patient, the appointment and the subject record.
Subject = tuple[Person, Visit | None, Proc | PatCov | RefLink | None]


def crown(tooth: str) -> tuple[Item, ...]:
    return (("D2950", tooth, ""), ("D2740", tooth, ""))


@dataclass
class Planted:
    rule: str
    person: Person
    visit: Visit | None
    subject: Proc | PatCov | RefLink | None
    what: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "patient_id": str(self.person.num),
            "appointment_id": str(self.visit.num) if self.visit else None,
            "subject_id": str(self.subject.num) if self.subject else None,
            "what": self.what,
        }


class Planter:
    """Builds planted patients and writes them out."""

    def __init__(self, pr: Practice) -> None:
        self.pr = pr
        self.subs: dict[int, list[InsSub]] = {}

    # -- people ---------------------------------------------------------------------
    def regular(
        self,
        visits: Iterable[int] = (730, 545, 365, 180),
        *,
        fmx: int = 730,
        bws: Iterable[int] = (365, 180),
        pa_tooth: str = "",
        mh_from: int = 0,
        covered: bool = True,
        **cover: Any,
    ) -> Person:
        """An established patient with completed recall visits ``visits`` days ago."""
        pr = self.pr
        ages = sorted(visits, reverse=True)
        person = pr.new_person(pr.entry_at(pr.today - timedelta(days=ages[0] + 6)))
        bws = set(bws)
        for i, age in enumerate(ages):
            visit = self.visit(person, "np" if i == 0 else "recall", -age, ())
            visit.is_new = i == 0
            if pa_tooth and age == ages[-1]:
                visit.pa_teeth.append(pa_tooth)
            xrays = (["D0210"] if age == fmx else []) + (["D0274"] if age in bws else [])
            exam_procs(person, visit, xrays, False)
            if i == 0:
                person.registration(visit.start - timedelta(minutes=15))
            if age >= mh_from:
                person.health_history(visit.start - timedelta(minutes=10))
        if covered:
            self.cover(person, **cover)
        return person

    def newcomer(
        self,
        days_ago: int,
        *,
        referral: int = 0,
        xray_days_ago: int | None = None,
        registration: bool = True,
        deleted_registration: bool = False,
    ) -> Person:
        """A first contact ``days_ago`` days ago who filled in the web forms."""
        pr = self.pr
        person = pr.new_person(pr.entry_at(pr.today - timedelta(days=days_ago)))
        if referral:
            person.refs.append(RefLink(referral, person.entry.date(), REF_FROM, stamp=person.entry))
        if registration or deleted_registration:
            person.registration(pr.soon_after(person.entry), web=True, deleted=deleted_registration)
        person.health_history(pr.soon_after(person.entry), web=True)
        if xray_days_ago is not None:
            person.docs.append(
                Doc(
                    "FMXs",
                    pr.now - timedelta(days=xray_days_ago),
                    IMG_RADIOGRAPH,
                    "Radiographs from referring office",
                )
            )
        return person

    def cover(
        self,
        person: Person,
        *,
        plan: Plan | None = None,
        verified: int | None = 5,
        status: str | None = "Verified",
        term: int | None = None,
        subscriber_id: str | None = None,
    ) -> PatCov:
        pr = self.pr
        sub = InsSub(
            plan or pr.pick_plan(),
            person,
            person.entry.date() - timedelta(days=200),
            pr.today - timedelta(days=term) if term is not None else None,
            names.subscriber_id(pr.rng) if subscriber_id is None else subscriber_id,
            person.entry,
        )
        self.subs.setdefault(person.num, []).append(sub)
        cov = PatCov(
            sub,
            1,
            0,
            person.entry,
            status=status,
            verified=pr.today - timedelta(days=verified) if verified is not None else None,
        )
        person.covs.append(cov)
        return cov

    # -- visits -----------------------------------------------------------------------
    def visit(
        self,
        person: Person,
        kind: str,
        day: int,
        items: Iterable[Item],
        *,
        lo: int | None = None,
        prov: int = 0,
        hyg: int | None = None,
        pattern: str | None = None,
        by: dict[str, int] | None = None,
        leeway: int = 3,
    ) -> Visit:
        """A visit ``day`` days from today (between ``lo`` and ``day`` when given; a past one ``leeway`` days
        either side)."""
        pr = self.pr
        items = tuple(items)
        first = pr.today + timedelta(days=day if lo is None else lo)
        last = pr.today + timedelta(days=day)
        if day < 0:  # history: a few days' leeway, never today
            first, last = (
                first - timedelta(days=leeway),
                min(last + timedelta(days=leeway), pr.today - timedelta(days=1)),
            )
        prov = prov or person.pri_prov
        if hyg is None:
            hyg = pr.hygienist(person, first) if kind in HYGIENE_KINDS else 0
        units = len(pattern) if pattern is not None else (units_of([c for c, _, _ in items]) or 16)
        visit = pr.schedule(person, kind, prov, hyg, first, (first, last), units)
        visit.pattern = pattern
        for code, tooth, surf in items:
            who = (by or {}).get(code) or (hyg if hyg and code in HYGIENIST_SCOPE else prov)
            person.add_proc(visit, code, who, tooth, surf)
        if kind == "np" or person.first_visit() is None:  # a new patient books on first contact
            visit.booked = pr.soon_after(person.entry, 4)
        return visit

    def first_visit(self, person: Person, lo: int, day: int) -> Visit:
        visit = self.visit(person, "np", day, NEW_PATIENT, lo=lo)
        visit.is_new = True
        return visit

    def broken_first_visit(self, person: Person, day: int) -> Visit:
        visit = self.first_visit(person, day, day)
        visit.status = BROKEN
        return visit

    def business_day(self, n: int) -> int:
        """Days from today to the ``n``-th business day after it (Saturdays and Sundays are not)."""
        day, offset = self.pr.today, 0
        while n > 0:
            offset += 1
            if (day + timedelta(days=offset)).weekday() < 5:
                n -= 1
        return offset

    def write(self, person: Person) -> None:
        for sub in self.subs.get(person.num, []):
            write_sub(self.pr, sub)
        write_person(self.pr, person)


def proc_of(visit: Visit, code: str) -> Proc:
    return next(p for p in visit.procs if p.code == code)


def other_than(pool: list[int], but: int) -> int:
    return next((p for p in pool if p != but), 0)
