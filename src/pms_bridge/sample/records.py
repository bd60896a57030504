"""In-memory records of one patient's story, built first and written out afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pms_bridge.sample.codes import CODE_BY_ID
from pms_bridge.sample.opendental_enums import (
    COMPLETE,
    PATIENT,
    SHEET_MEDICAL_HISTORY,
    SHEET_PATIENT_FORM,
)

# Sheet descriptions the sample gives its registration and health-history forms.
REGISTRATION, MEDICAL_HISTORY = "Patient Registration", "Medical History"


@dataclass(eq=False)
class Proc:
    code: str
    prov: int
    tooth: str = ""
    surf: str = ""
    diagnosed: datetime | None = None  # DateTP for treatment found at an exam
    visit: Visit | None = None
    planned: Visit | None = None
    status: int = 0  # ProcStat; 0: from the visit (C once it is complete, else TP)
    num: int = 0


@dataclass(eq=False)
class Visit:
    kind: str  # np, recall, srp, rest, endo, emerg, consult, note
    start: datetime
    status: int
    prov: int
    hyg: int = 0
    op: int = 0
    booked: datetime | None = None
    procs: list[Proc] = field(default_factory=list)
    is_new: bool = False
    is_hygiene: bool | None = None  # None: from the kind
    pattern: str | None = None  # None: from the procedures
    apt_type: str | None = None  # None: from the kind; "": no type
    # Treatment found at this exam that needs radiographs: teeth for a PA, SRP for an FMX.
    pa_teeth: list[str] = field(default_factory=list)
    needs_fmx: bool = False
    unconfirmed: bool = False  # left unconfirmed when it comes up (planted); else confirmed a week ahead
    preauth: bool = True  # work that needs a pre-authorization has one (a scheduled visit of an insured patient)
    claim: str | None = None  # a completed visit's claim: None as it comes, "none" (not made yet) or a ClaimStatus
    num: int = 0

    @property
    def day(self) -> date:
        return self.start.date()

    def time_pattern(self) -> str:
        if self.pattern is not None:
            return self.pattern
        return "".join(CODE_BY_ID[p.code].proc_time for p in self.procs)


@dataclass(eq=False)
class Sheet:
    sheet_type: int
    at: datetime
    description: str
    web: bool = False
    deleted: bool = False
    eform: bool = False  # an eForm (Open Dental 24.3+), written to the eform table


@dataclass(eq=False)
class Doc:
    category: str
    at: datetime
    img_type: int
    description: str
    teeth: str = ""


@dataclass(eq=False)
class RefLink:
    referral: int
    on: date
    ref_type: int
    status: int = 0  # RefToStatus (opendental_enums.REF_TO_STATUS)
    done: date | None = None
    prov: int = 0
    stamp: datetime | None = None
    num: int = 0


@dataclass(eq=False)
class Plan:
    num: int
    carrier: int


@dataclass(eq=False)
class InsSub:
    plan: Plan
    subscriber: Person
    effective: date
    term: date | None
    subscriber_id: str
    added: datetime
    num: int = 0

    def covers(self, day: date) -> bool:
        return self.effective <= day and (self.term is None or day <= self.term)


@dataclass(eq=False)
class PatCov:
    sub: InsSub
    ordinal: int
    relationship: int  # opendental_enums.RELAT: SELF, SPOUSE or CHILD
    added: datetime
    dropped: bool = False  # an old plan: Open Dental deletes the patplan row
    verified: date | None | str = "auto"  # "auto": decided when written
    status: str | None = "Verified"  # a DEF_INS_VERIFY_STATUS definition's name, None = no status
    num: int = 0


@dataclass(eq=False)
class Person:
    num: int
    first: str
    last: str
    gender: int
    birth: date
    entry: datetime  # SecDateEntry: first contact
    pri_prov: int
    hyg_pref: int
    preferred: str = ""
    phone: str = ""
    email: str = ""
    status: int = PATIENT  # PatStatus (opendental_enums.PAT_STATUS)
    first_visit_before: date | None = None  # first visit before the exported history
    visits: list[Visit] = field(default_factory=list)
    procs: list[Proc] = field(default_factory=list)
    sheets: list[Sheet] = field(default_factory=list)
    docs: list[Doc] = field(default_factory=list)
    refs: list[RefLink] = field(default_factory=list)
    covs: list[PatCov] = field(default_factory=list)

    def age_on(self, day: date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))

    def add_proc(
        self,
        visit: Visit | None,
        code: str,
        prov: int,
        tooth: str = "",
        surf: str = "",
        diagnosed: datetime | None = None,
    ) -> Proc:
        proc = Proc(code, prov, tooth, surf, diagnosed, visit)
        self.procs.append(proc)
        if visit is not None:
            visit.procs.append(proc)
        return proc

    def registration(self, at: datetime, *, web: bool = False, deleted: bool = False) -> None:
        self.sheets.append(Sheet(SHEET_PATIENT_FORM, at, REGISTRATION, web, deleted))

    def health_history(self, at: datetime, *, web: bool = False, deleted: bool = False) -> None:
        self.sheets.append(Sheet(SHEET_MEDICAL_HISTORY, at, MEDICAL_HISTORY, web, deleted))

    def patient_form(self, at: datetime, title: str, *, eform: bool = False) -> None:
        """A patient form filled in online: a sheet, or an eForm."""
        self.sheets.append(Sheet(SHEET_PATIENT_FORM, at, title, web=True, eform=eform))

    def first_visit(self) -> date | None:
        if self.first_visit_before is not None:
            return self.first_visit_before
        done = [v.day for v in self.visits if v.status == COMPLETE]
        return min(done) if done else None
