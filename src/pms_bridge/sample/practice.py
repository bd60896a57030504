"""The practice every patient story is told against: time, staff, book, reference rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from random import Random

from pms_bridge.sample import names
from pms_bridge.sample.codes import (
    APPOINTMENT_TYPES,
    CODES,
    DEFINITIONS,
    HYGIENE_KINDS,
    PREFERENCES,
    definition_items,
)
from pms_bridge.sample.opendental_enums import (
    COMPLETE,
    DEF_INS_VERIFY_STATUS,
    DEF_PROVIDER_SPECIALTIES,
    PROV_ACTIVE,
    SCHEDULED,
    TP,
    VERIFY_INSURANCE_BENEFIT,
)
from pms_bridge.sample.records import Person, Plan, Visit
from pms_bridge.sample.schedule import Book
from pms_bridge.sample.tables import Tables

SPECIALTIES = ("Endodontics", "Periodontics", "Oral Surgery", "Orthodontics", "Pediatric")


class Practice:
    def __init__(
        self,
        tables: Tables,
        rng: Random,
        now: datetime,
        *,
        history_years: int,
        dentists: int,
        hygienists: int,
        specialists: int,
        patients: int,
    ) -> None:
        if dentists < 1 or hygienists < 1:
            raise ValueError("a sample practice needs at least one dentist and one hygienist")
        self.t = tables
        self.rng = rng
        self.now = now
        self.today = now.date()
        self.start = self.today - timedelta(days=365 * history_years)
        self.window_end = self.today + timedelta(days=13)
        self.book = Book(now)
        self.area = rng.choice((262, 319, 414, 515, 608, 641, 715, 920))
        self.defs: dict[tuple[int, str], int] = {}
        self.types: dict[str, int] = {}
        self.code_nums: dict[str, int] = {}
        self._write_reference()
        self.dentists = [self._provider("General", False) for _ in range(dentists)]
        self.hygienists = [self._provider("Hygienist", True) for _ in range(hygienists)]
        self.specialists = [
            self._provider(SPECIALTIES[i % len(SPECIALTIES)], False) for i in range(specialists)
        ]
        # A hygienist who left a year into the history; the first current one replaced her.
        self.former_until = self.start + timedelta(days=365)
        self.former = self._provider("Hygienist", True, hidden=True)
        for hyg in self.hygienists:  # provider-specific times (proccodenote), the same as the codes' own
            for code in CODES:
                if code.is_hygiene:
                    self.t.add("proccodenote", self.code_nums[code.code], hyg, "", code.proc_time, TP)
        self.carriers = [self._carrier(name, elect) for name, elect in names.CARRIERS]
        self.plans: list[Plan] = []
        self.old_plans: list[Plan] = []
        for i in range(min(300, max(8, patients // 15))):
            plan = self.new_plan(self.rng.choice(self.carriers), hidden=i % 20 == 19)
            (self.old_plans if i % 20 == 19 else self.plans).append(plan)
        self.plan_weights = [1 / (i + 1) for i in range(len(self.plans))]
        self.sources = [self._referral(src, "", "", False) for src in names.SOURCES]
        self.doctors: dict[str, list[int]] = {}
        for i, spec in enumerate(names.DOCTOR_SPECIALTIES * 2):
            last = names.last_name(rng)
            num = self._referral(last, names.first_name(rng, i % 2), spec, True)
            self.doctors.setdefault(spec, []).append(num)

    # -- reference rows -------------------------------------------------------------
    def _write_reference(self) -> None:
        t = self.t
        for category in DEFINITIONS:
            for order, (name, value, hidden) in enumerate(definition_items(category)):
                self.defs[(category, name)] = t.add("definition", category, order, name, value, hidden)
        for name, hidden in APPOINTMENT_TYPES:
            self.types[name] = t.add("appointmenttype", name, hidden)
        for name, value in PREFERENCES:
            t.add("preference", name, value)
        stamp = self.stamp_before(self.start)
        for code in CODES:
            self.code_nums[code.code] = t.add(
                "procedurecode",
                code.code,
                code.descript,
                code.abbr,
                code.proc_time,
                code.is_hygiene,
                code.is_radiology,
                stamp,
            )

    def stamp_before(self, day: date) -> datetime:
        moment = datetime.combine(day, time(9)) - timedelta(days=self.rng.randint(20, 400))
        return min(moment, self.now)

    def _provider(self, specialty: str, hygienist: bool, hidden: bool = False) -> int:
        rng = self.rng
        first, last = names.first_name(rng, rng.randrange(2)), names.last_name(rng)
        num = self.t.new_id("provider")
        abbr = f"{'RDH' if hygienist else 'Dr'}{last[:3]}{num}"
        self.t.write(
            "provider",
            num,
            abbr,
            last,
            first,
            self.defs[(DEF_PROVIDER_SPECIALTIES, specialty)],
            hygienist,
            hidden,
            PROV_ACTIVE,
            self.stamp_before(self.start + timedelta(days=400 if hidden else 0)),
        )
        self.book.add_provider(num, 1 if hygienist or specialty != "General" else 2)
        return num

    def _carrier(self, name: str, elect_id: str) -> int:
        return self.t.add("carrier", name, elect_id, self.stamp_before(self.start))

    def new_plan(self, carrier: int, *, hidden: bool = False, verified_days_ago: int | None = None) -> Plan:
        """An employer group plan, with its benefits verification row."""
        rng = self.rng
        group = rng.choice(names.EMPLOYERS) + rng.choice(("", "", " - PPO", " - Premier", " - Basic"))
        plan = Plan(
            self.t.add(
                "insplan", group, names.group_number(rng), carrier, hidden, self.stamp_before(self.start)
            ),
            carrier,
        )
        days = verified_days_ago if verified_days_ago is not None else rng.randint(1, 240)
        verified = self.today - timedelta(days=days)
        self.t.add(
            "insverify",
            verified,
            VERIFY_INSURANCE_BENEFIT,
            plan.num,
            self.defs[(DEF_INS_VERIFY_STATUS, "Verified")],
            datetime.combine(verified, time(10, rng.randrange(60))),
        )
        return plan

    def pick_plan(self) -> Plan:
        return self.rng.choices(self.plans, self.plan_weights)[0]

    def _referral(self, last: str, first: str, specialty: str, doctor: bool) -> int:
        spec = self.defs[(DEF_PROVIDER_SPECIALTIES, specialty)] if specialty else 0
        title = self.rng.choice(("DDS", "DMD")) if doctor else ""
        return self.t.add(
            "referral", last, first, title, spec, doctor, not doctor, self.stamp_before(self.start)
        )

    # -- people and time --------------------------------------------------------------
    def new_person(self, entry: datetime, *, last: str | None = None, child: bool = False) -> Person:
        rng = self.rng
        gender = rng.randrange(2)
        first = names.first_name(rng, gender)
        last = last or names.last_name(rng)
        years = rng.randint(4, 17) if child else rng.randint(19, 84)
        birth = self.today - timedelta(days=int(years * 365.25) + rng.randrange(365))
        person = Person(
            self.t.new_id("patient"),
            first,
            last,
            gender,
            birth,
            entry,
            pri_prov=rng.choice(self.dentists),
            hyg_pref=rng.choice(self.hygienists),
            preferred=names.NICKNAMES.get(first, "") if rng.random() < 0.3 else "",
            phone=names.phone(rng, self.area) if rng.random() < 0.92 else "",
            email=names.email(rng, first, last) if rng.random() < 0.7 else "",
        )
        return person

    def entry_at(self, day: date) -> datetime:
        """A first-contact moment on ``day`` during office hours."""
        return datetime.combine(day, time(self.rng.randint(8, 16), self.rng.randrange(0, 60, 5)))

    def soon_after(self, moment: datetime, max_hours: int = 6) -> datetime:
        """A moment a little after ``moment`` and before now."""
        later = moment + timedelta(hours=self.rng.randint(1, max_hours), minutes=self.rng.randrange(60))
        return max(moment, min(later, self.now - timedelta(minutes=30)))

    def hygienist(self, person: Person, day: date) -> int:
        if person.hyg_pref == self.hygienists[0] and day < self.former_until:
            return self.former
        return person.hyg_pref

    def specialist(self) -> int:
        return self.specialists[0] if self.specialists else self.dentists[0]

    def span(self, target: date, lo: date, hi: date) -> tuple[date, date] | None:
        """[lo, hi] clipped to the side of today that ``target`` falls on (past or window)."""
        if target < self.today:
            hi = min(hi, self.today - timedelta(days=1))
        elif target <= self.window_end:
            lo, hi = max(lo, self.today), min(hi, self.window_end)
        else:
            return None
        return (lo, hi) if lo <= hi else None

    def schedule(
        self,
        person: Person,
        kind: str,
        prov: int,
        hyg: int,
        target: date,
        span: tuple[date, date],
        units: int,
    ) -> Visit:
        column = hyg if hyg and kind in HYGIENE_KINDS else prov
        op, start = self.book.book(self.rng, column, target, units, *span)
        visit = Visit(kind, start, COMPLETE if start < self.now else SCHEDULED, prov, hyg, op)
        person.visits.append(visit)
        return visit
