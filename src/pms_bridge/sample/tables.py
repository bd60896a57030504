"""The Open Dental tables the sample writes: columns, value formatting, id counters."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pms_bridge.private_files import private_dir, private_open

NO_DATE = date(1, 1, 1)
NO_DATETIME = datetime(1, 1, 1)

# Real Open Dental column names, in the order they are written.
TABLES: dict[str, tuple[str, ...]] = {
    "definition": ("DefNum", "Category", "ItemOrder", "ItemName", "ItemValue", "IsHidden"),
    "appointmenttype": ("AppointmentTypeNum", "AppointmentTypeName", "IsHidden"),
    "preference": ("PrefNum", "PrefName", "ValueString"),
    "proccodenote": ("ProcCodeNoteNum", "CodeNum", "ProvNum", "Note", "ProcTime", "ProcStatus"),
    "provider": (
        "ProvNum",
        "Abbr",
        "LName",
        "FName",
        "Specialty",
        "IsSecondary",
        "IsHidden",
        "ProvStatus",
        "DateTStamp",
    ),
    "patient": (
        "PatNum",
        "LName",
        "FName",
        "Preferred",
        "PatStatus",
        "Gender",
        "Birthdate",
        "WirelessPhone",
        "Email",
        "PriProv",
        "DateFirstVisit",
        "SecDateEntry",
        "DateTStamp",
    ),
    "procedurecode": (
        "CodeNum",
        "ProcCode",
        "Descript",
        "AbbrDesc",
        "ProcTime",
        "IsHygiene",
        "IsRadiology",
        "DateTStamp",
    ),
    "appointment": (
        "AptNum",
        "PatNum",
        "AptStatus",
        "Pattern",
        "Confirmed",
        "Op",
        "ProvNum",
        "ProvHyg",
        "AptDateTime",
        "IsNewPatient",
        "IsHygiene",
        "AppointmentTypeNum",
        "SecDateTEntry",
        "DateTStamp",
    ),
    "procedurelog": (
        "ProcNum",
        "PatNum",
        "AptNum",
        "PlannedAptNum",
        "ProcDate",
        "ProcFee",
        "Surf",
        "ToothNum",
        "ProcStatus",
        "ProvNum",
        "CodeNum",
        "DateTP",
        "DateTStamp",
    ),
    "carrier": ("CarrierNum", "CarrierName", "ElectID", "SecDateTEdit"),
    "insplan": ("PlanNum", "GroupName", "GroupNum", "CarrierNum", "IsHidden", "SecDateTEdit"),
    "inssub": (
        "InsSubNum",
        "PlanNum",
        "Subscriber",
        "DateEffective",
        "DateTerm",
        "SubscriberID",
        "SecDateTEdit",
    ),
    "patplan": (
        "PatPlanNum",
        "PatNum",
        "Ordinal",
        "IsPending",
        "Relationship",
        "InsSubNum",
        "SecDateTEdit",
    ),
    "insverify": (
        "InsVerifyNum",
        "DateLastVerified",
        "VerifyType",
        "FKey",
        "DefNum",
        "SecDateTEdit",
    ),
    # Open Dental's referral table has no BusinessName: a non-person source keeps
    # its description in LName. Title holds DDS/DMD for doctors.
    "referral": (
        "ReferralNum",
        "LName",
        "FName",
        "Title",
        "Specialty",
        "IsDoctor",
        "NotPerson",
        "DateTStamp",
    ),
    "refattach": (
        "RefAttachNum",
        "ReferralNum",
        "PatNum",
        "RefDate",
        "RefType",
        "RefToStatus",
        "ProcNum",
        "DateProcComplete",
        "ProvNum",
        "DateTStamp",
    ),
    "document": (
        "DocNum",
        "PatNum",
        "DocCategory",
        "DateCreated",
        "ImgType",
        "ToothNumbers",
        "Description",
        "DateTStamp",
        "MountItemNum",  # 0, or the mount item the image sits in
    ),
    # A mount files a series of images together (an FMX): one mount row, a mount item per position,
    # each image a document whose MountItemNum names its item. Mounts have no change stamp.
    "mount": ("MountNum", "PatNum", "DocCategory", "DateCreated", "Description"),
    "mountitem": ("MountItemNum", "MountNum", "ItemOrder"),
    "sheet": (
        "SheetNum",
        "SheetType",
        "PatNum",
        "DateTimeSheet",
        "Description",
        "IsWebForm",
        "IsDeleted",
        "DateTSheetEdited",
    ),
    # Clinics of a multi-clinic office; the sample practice has none (every ClinicNum is 0), so the
    # table is there but empty, as in a single-clinic office's database.
    "clinic": ("ClinicNum", "Description", "Abbr"),
    # eForms (Open Dental 24.3+): FormType 0 PatientForm, 1 MedicalHistory, 2 Consent.
    "eform": (
        "EFormNum",
        "FormType",
        "PatNum",
        "DateTimeShown",
        "Description",
        "DateTEdited",
        "EFormDefNum",
        "Status",
    ),
    "claim": (
        "ClaimNum",
        "PatNum",
        "DateService",
        "DateSent",
        "ClaimStatus",
        "DateReceived",
        "PlanNum",
        "ProvTreat",
        "ClaimFee",
        "InsPayEst",
        "InsPayAmt",
        "ClaimType",
        "InsSubNum",
        "SecDateTEdit",
    ),
    # A procedure's line with one plan: an estimate (ClaimNum 0) until the procedure goes on a claim.
    "claimproc": (
        "ClaimProcNum",
        "ProcNum",
        "ClaimNum",
        "PatNum",
        "Status",
        "ProcDate",
        "FeeBilled",
        "InsPayEst",
        "PlanNum",
        "InsSubNum",
        "SecDateTEdit",
    ),
}


class Money(int):
    """An amount in cents, written as dollars with two decimals (``130.00``)."""

    def __str__(self) -> str:
        return f"{self // 100}.{self % 100:02d}"


def cell(value: Any) -> str:
    """One value as Open Dental's raw table export writes it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        raise ValueError("None has no Open Dental representation; pass 0, '' or NO_DATE")
    return str(value)


class Tables:
    """One CSV per table, written row by row; ids are handed out per table."""

    def __init__(self, out_dir: Path, id_offset: int = 0) -> None:
        private_dir(out_dir)
        self.rows: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._last_id: dict[str, int] = dict.fromkeys(TABLES, id_offset)
        self._files = ExitStack()
        self._writers: dict[str, Any] = {}
        for name, columns in TABLES.items():
            path = out_dir / f"{name}.csv"
            handle = self._files.enter_context(private_open(path))
            self._writers[name] = csv.writer(handle, lineterminator="\n")
            self._writers[name].writerow(columns)

    def new_id(self, table: str) -> int:
        self._last_id[table] += 1
        return self._last_id[table]

    def write(self, table: str, *values: Any) -> None:
        if len(values) != len(TABLES[table]):
            raise ValueError(f"{table}: {len(values)} values for {len(TABLES[table])} columns")
        self._writers[table].writerow([cell(v) for v in values])
        self.rows[table] += 1

    def add(self, table: str, *values: Any) -> int:
        """Write a row whose first column is a new id; return the id."""
        new = self.new_id(table)
        self.write(table, new, *values)
        return new

    def close(self) -> None:
        self._files.close()
