"""The synthetic Open Dental practice: format, integrity, determinism, and its planted problems.

``_findings`` below is an independent, deliberately broad reading of the rule
catalog (docs/rules.md), computed straight from the CSV files: the background
must give it nothing, and every planted problem must be found.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pms_bridge.rules import RULES as CATALOG
from pms_bridge.sample import SampleReport, generate_group, generate_practice

TZ = ZoneInfo("America/Chicago")
AS_OF = datetime(2026, 3, 2, 8, 0, tzinfo=TZ)
NOW = AS_OF.replace(tzinfo=None)
RULES = set(CATALOG)  # every rule in the catalog gets planted problems

HEADERS = {
    "definition": "DefNum,Category,ItemOrder,ItemName,ItemValue,IsHidden",
    "appointmenttype": "AppointmentTypeNum,AppointmentTypeName,IsHidden",
    "preference": "PrefNum,PrefName,ValueString",
    "proccodenote": "ProcCodeNoteNum,CodeNum,ProvNum,Note,ProcTime,ProcStatus",
    "provider": "ProvNum,Abbr,LName,FName,Specialty,IsSecondary,IsHidden,ProvStatus,DateTStamp",
    "patient": "PatNum,LName,FName,Preferred,PatStatus,Gender,Birthdate,WirelessPhone,Email,PriProv,"
    "DateFirstVisit,SecDateEntry,DateTStamp",
    "procedurecode": "CodeNum,ProcCode,Descript,AbbrDesc,ProcTime,IsHygiene,IsRadiology,DateTStamp",
    "appointment": "AptNum,PatNum,AptStatus,Pattern,Confirmed,Op,ProvNum,ProvHyg,AptDateTime,IsNewPatient,"
    "IsHygiene,AppointmentTypeNum,SecDateTEntry,DateTStamp",
    "procedurelog": "ProcNum,PatNum,AptNum,PlannedAptNum,ProcDate,ProcFee,Surf,ToothNum,ProcStatus,ProvNum,"
    "CodeNum,DateTP,DateTStamp",
    "carrier": "CarrierNum,CarrierName,ElectID,SecDateTEdit",
    "insplan": "PlanNum,GroupName,GroupNum,CarrierNum,IsHidden,SecDateTEdit",
    "inssub": "InsSubNum,PlanNum,Subscriber,DateEffective,DateTerm,SubscriberID,SecDateTEdit",
    "patplan": "PatPlanNum,PatNum,Ordinal,IsPending,Relationship,InsSubNum,SecDateTEdit",
    "insverify": "InsVerifyNum,DateLastVerified,VerifyType,FKey,DefNum,SecDateTEdit",
    "referral": "ReferralNum,LName,FName,Title,Specialty,IsDoctor,NotPerson,DateTStamp",
    "refattach": "RefAttachNum,ReferralNum,PatNum,RefDate,RefType,RefToStatus,ProcNum,DateProcComplete,"
    "ProvNum,DateTStamp",
    "document": "DocNum,PatNum,DocCategory,DateCreated,ImgType,ToothNumbers,Description,DateTStamp,MountItemNum",
    "mount": "MountNum,PatNum,DocCategory,DateCreated,Description",
    "mountitem": "MountItemNum,MountNum,ItemOrder",
    "sheet": "SheetNum,SheetType,PatNum,DateTimeSheet,Description,IsWebForm,IsDeleted,DateTSheetEdited",
    "clinic": "ClinicNum,Description,Abbr",
    "eform": "EFormNum,FormType,PatNum,DateTimeShown,Description,DateTEdited,EFormDefNum,Status",
    "claim": "ClaimNum,PatNum,DateService,DateSent,ClaimStatus,DateReceived,PlanNum,ProvTreat,ClaimFee,"
    "InsPayEst,InsPayAmt,ClaimType,InsSubNum,SecDateTEdit",
    "claimproc": "ClaimProcNum,ProcNum,ClaimNum,PatNum,Status,ProcDate,FeeBilled,InsPayEst,PlanNum,InsSubNum,SecDateTEdit",
}
# child table, column -> parent table (0 allowed where marked)
FOREIGN_KEYS = [
    ("provider", "Specialty", "definition", False),
    ("patient", "PriProv", "provider", False),
    ("appointment", "PatNum", "patient", False),
    ("appointment", "ProvNum", "provider", False),
    ("appointment", "ProvHyg", "provider", True),
    ("appointment", "Confirmed", "definition", False),
    ("appointment", "AppointmentTypeNum", "appointmenttype", True),
    ("procedurelog", "PatNum", "patient", False),
    ("procedurelog", "AptNum", "appointment", True),
    ("procedurelog", "PlannedAptNum", "appointment", True),
    ("procedurelog", "ProvNum", "provider", False),
    ("procedurelog", "CodeNum", "procedurecode", False),
    ("insplan", "CarrierNum", "carrier", True),
    ("inssub", "PlanNum", "insplan", False),
    ("inssub", "Subscriber", "patient", False),
    ("patplan", "PatNum", "patient", False),
    ("patplan", "InsSubNum", "inssub", False),
    ("insverify", "DefNum", "definition", True),
    ("referral", "Specialty", "definition", True),
    ("refattach", "ReferralNum", "referral", False),
    ("refattach", "PatNum", "patient", False),
    ("refattach", "ProcNum", "procedurelog", True),
    ("refattach", "ProvNum", "provider", True),
    ("document", "PatNum", "patient", False),
    ("document", "DocCategory", "definition", False),
    ("document", "MountItemNum", "mountitem", True),
    ("mount", "PatNum", "patient", False),
    ("mount", "DocCategory", "definition", False),
    ("mountitem", "MountNum", "mount", False),
    ("sheet", "PatNum", "patient", False),
    ("eform", "PatNum", "patient", False),
    ("claim", "PatNum", "patient", False),
    ("claim", "PlanNum", "insplan", False),
    ("claim", "ProvTreat", "provider", False),
    ("claim", "InsSubNum", "inssub", False),
    ("claimproc", "ProcNum", "procedurelog", False),
    ("claimproc", "ClaimNum", "claim", True),
    ("claimproc", "PatNum", "patient", False),
    ("claimproc", "PlanNum", "insplan", False),
    ("claimproc", "InsSubNum", "inssub", False),
]
STAMPS = ("DateTStamp", "SecDateTEdit", "SecDateTEntry", "DateTSheetEdited", "DateTEdited")


def _read(folder: Path) -> dict[str, list[dict[str, str]]]:
    return {name: list(csv.DictReader(open(folder / f"{name}.csv", encoding="utf-8"))) for name in HEADERS}


def _date(text: str) -> date | None:
    return None if text.startswith("0001-01-01") else date.fromisoformat(text[:10])


def _dt(text: str) -> datetime | None:
    return None if text.startswith("0001-01-01") else datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleReport]:
    folder = tmp_path_factory.mktemp("practice")
    return folder, generate_practice(folder, as_of=AS_OF)


@pytest.fixture(scope="module")
def tables(sample: tuple[Path, SampleReport]) -> dict[str, list[dict[str, str]]]:
    return _read(sample[0])


@pytest.fixture(scope="module")
def planted_patients(sample: tuple[Path, SampleReport]) -> set[str]:
    return {p["patient_id"] for p in sample[1].planted}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_practice(tmp_path / name, as_of=AS_OF, seed=seed, patients=150)
    first, second, other = (_files(tmp_path / n) for n in "abc")
    assert first == second
    assert first.keys() == other.keys()
    assert first["patient.csv"] != other["patient.csv"]
    assert first["appointment.csv"] != other["appointment.csv"]


def test_files_headers_and_line_endings(sample: tuple[Path, SampleReport]) -> None:
    folder, report = sample
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{t}.csv" for t in HEADERS] + ["planted.json"]
    )
    for table, header in HEADERS.items():
        raw = (folder / f"{table}.csv").read_bytes()
        assert b"\r" not in raw
        lines = raw.decode("utf-8").split("\n")
        assert lines[0] == header, table
        assert lines[-1] == ""
        assert report.rows[table] == len(lines) - 2, table


def test_report_counts_are_realistic(sample: tuple[Path, SampleReport]) -> None:
    rows = sample[1].rows
    assert rows["patient"] == 600
    assert rows["provider"] == 2 + 2 + 1 + 1  # dentists, hygienists, specialist, a former hygienist
    assert rows["appointment"] > 3000
    assert rows["procedurelog"] > 2 * rows["appointment"]
    assert 0.65 < rows["patplan"] / rows["patient"] < 1.0
    assert rows["claim"] > 1000


def test_ids_unique(tables: dict[str, list[dict[str, str]]]) -> None:
    for table, rows in tables.items():
        key = HEADERS[table].split(",")[0]
        ids = [r[key] for r in rows]
        assert len(ids) == len(set(ids)), table
        assert all(i.isdigit() and int(i) > 0 for i in ids), table


def test_foreign_keys_resolve(tables: dict[str, list[dict[str, str]]]) -> None:
    keys = {t: {r[HEADERS[t].split(",")[0]] for r in rows} for t, rows in tables.items()}
    for child, column, parent, zero_ok in FOREIGN_KEYS:
        for row in tables[child]:
            value = row[column]
            assert value in keys[parent] or (zero_ok and value == "0"), (child, column, value)
    plans, patplans = keys["insplan"], keys["patplan"]
    for row in tables["insverify"]:
        assert row["FKey"] in (plans if row["VerifyType"] == "1" else patplans)


def test_values_are_raw_open_dental_values(tables: dict[str, list[dict[str, str]]]) -> None:
    assert {r["AptStatus"] for r in tables["appointment"]} == {"1", "2", "3", "5", "6", "7"}  # 3: unscheduled list
    # 4: EO, another office's; 8: TPi, treatment the patient did not go ahead with
    assert {r["ProcStatus"] for r in tables["procedurelog"]} <= {"1", "2", "4", "8"}
    assert {r["ClaimStatus"] for r in tables["claim"]} <= set("UHWSRI")
    assert {r["ClaimType"] for r in tables["claim"]} == {"P", "S", "PreAuth"}
    # claimproc.Status: 0 NotReceived, 1 Received, 2 Preauth, 6 Estimate (ClaimNum 0 exactly for estimates)
    assert {r["Status"] for r in tables["claimproc"]} == {"0", "1", "2", "6"}
    assert all((r["ClaimNum"] == "0") == (r["Status"] == "6") for r in tables["claimproc"])
    assert {r["Category"] for r in tables["definition"]} == {"2", "18", "35", "38"}
    for row in tables["procedurelog"]:
        dollars, cents = row["ProcFee"].split(".")
        assert dollars.isdigit() and len(cents) == 2
    for row in tables["appointment"]:
        assert set(row["Pattern"]) <= {"X", "/"} and row["Pattern"]
        datetime.strptime(row["AptDateTime"], "%Y-%m-%d %H:%M:%S")
        # Open Dental keeps planned and many unscheduled-list appointments undated, and only those
        assert (row["AptDateTime"] == "0001-01-01 00:00:00") == (row["AptStatus"] in ("3", "6")), row
    for row in tables["patient"]:
        assert row["WirelessPhone"] == "" or "555-01" in row["WirelessPhone"]
        assert row["Email"] == "" or row["Email"].split("@")[1].startswith("example.")


def test_every_timestamp_is_at_or_before_as_of(tables: dict[str, list[dict[str, str]]]) -> None:
    for table, rows in tables.items():
        for column in STAMPS:
            if column in HEADERS[table].split(","):
                for row in rows:
                    stamp = _dt(row[column])
                    assert stamp is None or stamp <= NOW, (table, column, row[column])
    for row in tables["appointment"]:
        booked = _dt(row["SecDateTEntry"])
        assert booked is not None
        if row["AptStatus"] in ("1", "2", "5"):
            assert booked <= _dt(row["AptDateTime"])  # type: ignore[operator]


def test_scheduled_appointments_are_in_the_window(tables: dict[str, list[dict[str, str]]]) -> None:
    scheduled = [_dt(r["AptDateTime"]) for r in tables["appointment"] if r["AptStatus"] == "1"]
    assert len(scheduled) > 30
    assert all(NOW <= s < NOW + timedelta(days=14) for s in scheduled)  # type: ignore[operator]
    past = [_dt(r["AptDateTime"]) for r in tables["appointment"] if r["AptStatus"] in ("2", "5")]
    assert all(p < NOW for p in past)  # type: ignore[operator]


def test_background_lengths_match_procedure_times(
    tables: dict[str, list[dict[str, str]]], planted_patients: set[str]
) -> None:
    proc_time = {r["CodeNum"]: len(r["ProcTime"]) for r in tables["procedurecode"]}
    units: dict[str, int] = defaultdict(int)
    for proc in tables["procedurelog"]:
        units[proc["AptNum"]] += proc_time[proc["CodeNum"]]
    checked = 0
    for apt in tables["appointment"]:
        if apt["PatNum"] in planted_patients or apt["AptStatus"] not in ("1", "2"):
            continue
        assert len(apt["Pattern"]) == units[apt["AptNum"]], apt
        checked += 1
    assert checked > 1000


def test_hygiene_visits_split_providers(tables: dict[str, list[dict[str, str]]]) -> None:
    kinds = {r["ProvNum"]: r["IsSecondary"] for r in tables["provider"]}
    codes = {r["CodeNum"]: r["ProcCode"] for r in tables["procedurecode"]}
    apts = {r["AptNum"]: r for r in tables["appointment"]}
    exams = prophies = 0
    for proc in tables["procedurelog"]:
        apt = apts.get(proc["AptNum"])
        if apt is None or apt["ProvHyg"] == "0":
            continue
        if codes[proc["CodeNum"]] == "D0120":
            exams += proc["ProvNum"] == apt["ProvNum"] and kinds[proc["ProvNum"]] == "0"
        if codes[proc["CodeNum"]] == "D1110":
            prophies += proc["ProvNum"] == apt["ProvHyg"] and kinds[proc["ProvNum"]] == "1"
    assert exams > 500 and prophies > 500


def test_planted_json_covers_every_rule(sample: tuple[Path, SampleReport]) -> None:
    folder, report = sample
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    assert planted == report.planted
    assert {p["rule"] for p in planted} == RULES
    for rule in RULES:
        assert sum(p["rule"] == rule for p in planted) >= 2, rule
    for item in planted:
        assert set(item) == {"rule", "patient_id", "appointment_id", "subject_id", "what"}
        assert item["what"] and item["patient_id"].isdigit()


def test_background_is_clean_and_planted_problems_are_found(
    tables: dict[str, list[dict[str, str]]], sample: tuple[Path, SampleReport]
) -> None:
    planted = sample[1].planted
    found = _findings(tables, NOW)
    planted_ids = {p["patient_id"] for p in planted}
    background = sorted(f for f in found if f[1] not in planted_ids)
    assert background == []
    hits = {(rule, patient) for rule, patient, _ in found}
    for item in planted:
        assert (item["rule"], item["patient_id"]) in hits, item
    expected = {(p["rule"], p["patient_id"]) for p in planted}
    broken_first = {p["patient_id"] for p in planted if p["rule"] == "REF003"}
    extra = {(r, p) for r, p in hits if p in planted_ids and (r, p) not in expected}
    assert extra <= {("REF001", p) for p in broken_first}  # said in their "what"


@pytest.mark.parametrize(
    ("as_of", "options"),
    [
        (datetime(2025, 12, 27, 10, 30, tzinfo=TZ), {"dentists": 1, "hygienists": 1, "specialists": 0}),
        (datetime(2026, 6, 15, 16, 40, tzinfo=TZ), {"dentists": 3, "hygienists": 3, "history_years": 2}),
    ],
)
def test_other_practices_are_clean_too(tmp_path: Path, as_of: datetime, options: dict) -> None:
    report = generate_practice(tmp_path, as_of=as_of, seed=3, patients=300, **options)
    found = _findings(_read(tmp_path), as_of.replace(tzinfo=None))
    planted_ids = {p["patient_id"] for p in report.planted}
    assert [f for f in found if f[1] not in planted_ids] == []
    assert {(p["rule"], p["patient_id"]) for p in report.planted} <= {(r, p) for r, p, _ in found}


def test_id_offset_shifts_every_id(tmp_path: Path) -> None:
    report = generate_practice(tmp_path, as_of=AS_OF, patients=60, id_offset=100000)
    tables = _read(tmp_path)
    assert all(int(r["PatNum"]) > 100000 for r in tables["patient"])
    assert all(int(r["DefNum"]) > 100000 for r in tables["definition"])
    assert all(int(p["patient_id"]) > 100000 for p in report.planted)


def test_naive_as_of_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone"):
        generate_practice(tmp_path, as_of=NOW)


def test_group_makes_distinct_locations(tmp_path: Path) -> None:
    reports = generate_group(tmp_path, as_of=AS_OF, locations=3, patients=80)
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["location-01", "location-02", "location-03"]
    assert [r.out_dir.name for r in reports] == folders
    patients = {(tmp_path / f / "patient.csv").read_bytes() for f in folders}
    assert len(patients) == 3
    assert all((tmp_path / f / "planted.json").exists() for f in folders)


# -- an independent, broad reading of the rule catalog -----------------------------------
HYGIENIST_SCOPE = {
    "D0210", "D0220", "D0230", "D0240", "D0270", "D0272", "D0274", "D0330", "D1110", "D1120",
    "D1206", "D1208", "D1351", "D4341", "D4342", "D4346", "D4355", "D4381", "D4910",
}  # fmt: skip


class _Practice:
    """Indexes over the exported tables."""

    def __init__(self, t: dict[str, list[dict[str, str]]], now: datetime) -> None:
        self.now, self.today = now, now.date()
        self.defs = {r["DefNum"]: r["ItemName"] for r in t["definition"]}
        self.types = {r["AppointmentTypeNum"]: r["AppointmentTypeName"] for r in t["appointmenttype"]}
        self.hygienists = {r["ProvNum"] for r in t["provider"] if r["IsSecondary"] == "1"}
        self.codes = {r["CodeNum"]: r for r in t["procedurecode"]}
        self.procs: dict[str, list[dict[str, str]]] = defaultdict(list)
        for p in t["procedurelog"]:
            if p["AptNum"] != "0":
                self.procs[p["AptNum"]].append(p)
        self.apts: dict[str, list[dict[str, str]]] = defaultdict(list)
        for a in t["appointment"]:
            self.apts[a["PatNum"]].append(a)
        self.seen = {pat for pat, apts in self.apts.items() if any(a["AptStatus"] == "2" for a in apts)}
        self.xrays: dict[tuple[str, str], list[date | None]] = defaultdict(list)  # (patient, kind)
        for doc in t["document"]:
            category = self.defs[doc["DocCategory"]]
            if category in ("BWs", "FMXs", "Panos") or doc["ImgType"] == "1":
                self._xray(doc["PatNum"], _date(doc["DateCreated"]), category in ("FMXs", "Panos"), False)
        for mount in t["mount"]:  # a series filed as a mount is on file (the API lists the mount, not its images)
            category = self.defs[mount["DocCategory"]]
            if category in ("BWs", "FMXs", "Panos"):
                self._xray(mount["PatNum"], _date(mount["DateCreated"]), category in ("FMXs", "Panos"), False)
        for p in t["procedurelog"]:
            code = self.codes[p["CodeNum"]]["ProcCode"]
            if p["ProcStatus"] in ("2", "3", "4") and code.startswith(("D02", "D03")):  # C, EC, EO
                self._xray(
                    p["PatNum"], _date(p["ProcDate"]), code in ("D0210", "D0330"), code in ("D0220", "D0230")
                )
        self.forms: dict[tuple[str, str], list[date | None]] = defaultdict(list)
        for s in t["sheet"]:
            if s["IsDeleted"] == "0":
                self.forms[(s["PatNum"], _form_kind(s["SheetType"], s["Description"]))].append(
                    _date(s["DateTimeSheet"]))
        for e in t["eform"]:
            kind = {"0": "9", "1": "11", "2": "6"}[e["FormType"]]
            self.forms[(e["PatNum"], _form_kind(kind, e["Description"]))].append(_date(e["DateTimeShown"]))
        self.subs = {r["InsSubNum"]: r for r in t["inssub"]}
        self.plans = {r["PlanNum"]: r for r in t["insplan"]}
        self.carriers = {r["CarrierNum"] for r in t["carrier"]}
        self.enrollment = {r["FKey"]: r for r in t["insverify"] if r["VerifyType"] == "2"}
        self.patplans: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in t["patplan"]:
            self.patplans[r["PatNum"]].append(r)

    def _xray(self, pat: str, day: date | None, big: bool, pa: bool) -> None:
        self.xrays[(pat, "any")].append(day)
        if big:
            self.xrays[(pat, "big")].append(day)
        if big or pa:
            self.xrays[(pat, "pa")].append(day)

    def recent(self, days: list[date | None], within: int) -> bool:
        return any(d is not None and self.today - timedelta(days=within) <= d <= self.today for d in days)


def _form_kind(sheet_type: str, title: str) -> str:
    """A patient form (9) counts as registration ("registration") only when its title says so."""
    if sheet_type == "9":
        return "registration" if "regist" in title.lower() else "other"
    return sheet_type


def _findings(t: dict[str, list[dict[str, str]]], now: datetime) -> set[tuple[str, str, str]]:
    pr = _Practice(t, now)
    found: set[tuple[str, str, str]] = set()
    for apt in t["appointment"]:
        start = _dt(apt["AptDateTime"])
        if apt["AptStatus"] == "1" and start is not None and now <= start < now + timedelta(days=14):
            found |= {(rule, apt["PatNum"], why) for rule, why in _window_findings(pr, apt, start)}
    for pat, patplans in pr.patplans.items():
        for pp in patplans:
            sub = pr.subs.get(pp["InsSubNum"])
            plan = pr.plans.get(sub["PlanNum"]) if sub else None
            if (
                not sub
                or not sub["SubscriberID"].strip()
                or not plan
                or plan["CarrierNum"] not in pr.carriers
            ):
                found.add(("INS003", pat, pp["PatPlanNum"]))
    return found | _referral_findings(pr, t) | _appointment_findings(pr, t) | _claim_findings(pr, t)


def _business_end(today: date, count: int) -> date:
    day = today
    while count:
        day += timedelta(days=1)
        count -= day.weekday() < 5
    return day


def _appointment_findings(pr: _Practice, t: dict[str, list[dict[str, str]]]) -> set[tuple[str, str, str]]:
    """APT001 (unconfirmed within two business days), APT002 (broken in 30 days, nothing since), TX001."""
    found = set()
    last_day = _business_end(pr.today, 2)
    for apt in t["appointment"]:
        start = _dt(apt["AptDateTime"])
        if apt["AptStatus"] == "1" and start is not None and pr.now <= start and start.date() <= last_day \
                and "confirm" not in pr.defs[apt["Confirmed"]].lower():
            found.add(("APT001", apt["PatNum"], apt["AptNum"]))
    for pat, apts in pr.apts.items():
        dated = [(start, a["AptStatus"]) for a in apts if (start := _dt(a["AptDateTime"])) is not None]
        broken = [start for start, status in dated if status == "5" and start.date() >= pr.today - timedelta(days=30)]
        later = [start for start, status in dated if status in "12" and broken and start > min(broken)]
        if broken and pat in pr.seen and not later:
            found.add(("APT002", pat, ""))
    status = {r["AptNum"]: r["AptStatus"] for r in t["appointment"]}
    last_seen = {pat: max(s for a in apts if a["AptStatus"] == "2" and (s := _dt(a["AptDateTime"])))
                 for pat, apts in pr.apts.items() if pat in pr.seen}
    for proc in t["procedurelog"]:
        planned = _date(proc["DateTP"])
        if proc["ProcStatus"] != "1" or planned is None or planned > pr.today - timedelta(days=15):
            continue
        seen = last_seen.get(proc["PatNum"])
        if status.get(proc["AptNum"]) != "1" and seen and seen.date() >= pr.today - timedelta(days=548):
            found.add(("TX001", proc["PatNum"], ""))
    return found


PREAUTH = ("D27", "D51", "D52", "D60", "D62", "D67", "D4341", "D4342")


def _claim_findings(pr: _Practice, t: dict[str, list[dict[str, str]]]) -> set[tuple[str, str, str]]:
    """CLM001 (completed 3-180 days ago, insured, on no claim sent or held), CLM002, PA001."""
    found = set()
    claims = {c["ClaimNum"]: c for c in t["claim"]}
    lines: dict[str, list[dict[str, str]]] = defaultdict(list)
    for line in t["claimproc"]:
        lines[line["ProcNum"]].append(line)

    def insured(pat: str, day: date) -> bool:
        for pp in pr.patplans[pat]:
            sub = pr.subs[pp["InsSubNum"]]
            term, effective = _date(sub["DateTerm"]), _date(sub["DateEffective"])
            if (effective is None or effective <= day) and (term is None or day <= term):
                return True
        return False

    billed_days = {(c["PatNum"], c["DateService"]) for c in claims.values()
                   if c["ClaimType"] != "PreAuth" and c["ClaimStatus"] in "SRH"}
    for proc in t["procedurelog"]:
        day = _date(proc["ProcDate"])
        if proc["ProcStatus"] != "2" or day is None or not 3 <= (pr.today - day).days <= 180:
            continue
        on = [claims[line["ClaimNum"]] for line in lines[proc["ProcNum"]] if line["ClaimNum"] != "0"]
        billed = any(c["ClaimType"] != "PreAuth" and c["ClaimStatus"] in "SRH" for c in on)
        if insured(proc["PatNum"], day) and not billed and (proc["PatNum"], proc["ProcDate"]) not in billed_days:
            found.add(("CLM001", proc["PatNum"], proc["ProcDate"]))
    for claim in claims.values():
        sent = _date(claim["DateSent"])
        if claim["ClaimStatus"] == "S" and claim["ClaimType"] != "PreAuth" and sent and (pr.today - sent).days > 30:
            found.add(("CLM002", claim["PatNum"], claim["ClaimNum"]))
    for apt in t["appointment"]:
        start = _dt(apt["AptDateTime"])
        if apt["AptStatus"] != "1" or start is None or not pr.now <= start < pr.now + timedelta(days=14):
            continue
        for proc in pr.procs[apt["AptNum"]]:
            code = pr.codes[proc["CodeNum"]]["ProcCode"]
            if code.startswith(PREAUTH) and insured(apt["PatNum"], start.date()) and not any(
                    line["Status"] == "2" for line in lines[proc["ProcNum"]]):
                found.add(("PA001", apt["PatNum"], apt["AptNum"]))
    return found


def _window_findings(pr: _Practice, apt: dict[str, str], start: datetime) -> list[tuple[str, str]]:
    out = []
    pat, procs = apt["PatNum"], pr.procs[apt["AptNum"]]
    codes = [pr.codes[p["CodeNum"]]["ProcCode"] for p in procs]
    for proc, code in zip(procs, codes):
        if proc["ProvNum"] in pr.hygienists and code not in HYGIENIST_SCOPE:
            out.append(("SCH001", code))
        if proc["ProvNum"] not in (apt["ProvNum"], apt["ProvHyg"]):
            out.append(("SCH002", code))
        if code in ("D4341", "D4342") and not pr.recent(pr.xrays[(pat, "big")], 730):
            out.append(("XR002", code))
        if (code.startswith(("D27", "D3", "D6")) or "D7210" <= code <= "D7250") and not pr.recent(
            pr.xrays[(pat, "pa")], 365
        ):
            out.append(("XR002", code))
    hygiene = apt["IsHygiene"] == "1" or any(pr.codes[p["CodeNum"]]["IsHygiene"] == "1" for p in procs)
    if hygiene and apt["ProvHyg"] == "0":
        out.append(("SCH001", "no hygienist"))
    if not procs and pr.types.get(apt["AppointmentTypeNum"]) != "Consult":
        out.append(("SCH003", ""))
    expected = 5 * sum(len(pr.codes[p["CodeNum"]]["ProcTime"]) for p in procs)
    if procs and not expected - 10 <= 5 * len(apt["Pattern"]) <= expected + 30:
        out.append(("SCH004", apt["Pattern"]))
    if not pr.recent(pr.xrays[(pat, "any")], 365):  # broad: any patient, not only new/referred-in
        out.append(("XR001", ""))
    if pat not in pr.seen and not pr.forms[(pat, "registration")]:
        out.append(("FRM001", ""))
    if not pr.recent(pr.forms[(pat, "11")], 365):
        out.append(("FRM002", ""))
    for pp in pr.patplans[pat]:
        sub, check = pr.subs[pp["InsSubNum"]], pr.enrollment.get(pp["PatPlanNum"])
        term, effective = _date(sub["DateTerm"]), _date(sub["DateEffective"])
        if (term and term < start.date()) or (effective and effective > start.date()):
            out.append(("INS001", "dates"))
        if (
            check
            and pr.defs.get(check["DefNum"]) == "Inactive"
            or pr.plans[sub["PlanNum"]]["IsHidden"] == "1"
        ):
            out.append(("INS001", "inactive"))
        verified = _date(check["DateLastVerified"]) if check else None
        if start - pr.now <= timedelta(days=3) and (not verified or verified < pr.today - timedelta(days=30)):
            out.append(("INS002", ""))
    return out


def _referral_findings(pr: _Practice, t: dict[str, list[dict[str, str]]]) -> set[tuple[str, str, str]]:
    found = set()
    recent = pr.today - timedelta(days=90)
    starts = [(p["PatNum"], _date(p["SecDateEntry"]), "first contact") for p in t["patient"]]
    for ref in t["refattach"]:
        day = _date(ref["RefDate"])
        if ref["RefType"] == "1":
            starts.append((ref["PatNum"], day, "referred in"))
        elif day and recent <= day <= pr.today - timedelta(days=30) and ref["RefToStatus"] not in "235":
            found.add(("REF004", ref["PatNum"], ref["RefAttachNum"]))
    for pat, day, why in starts:
        if day is None or day < recent:
            continue
        after = [a for a in pr.apts[pat] if (_dt(a["AptDateTime"]) or datetime.min).date() >= day]
        booked = [a for a in after if a["AptStatus"] in ("1", "2")]
        if not booked and day + timedelta(days=2) <= pr.today:
            found.add(("REF001", pat, why))
        first = min((_dt(a["AptDateTime"]) for a in after if a["AptStatus"] in "125"), default=None)
        if first is not None and first.date() > day + timedelta(days=10):
            found.add(("REF002", pat, why))
        arrived = any(
            a["AptStatus"] == "2" and _dt(a["AptDateTime"]).date() <= day + timedelta(days=10)  # type: ignore[union-attr]
            for a in after
        )
        if day + timedelta(days=10) < pr.today and not arrived:
            found.add(("REF003", pat, why))
    return found
