"""Write small Open Dental-shaped table exports for tests (synthetic data only)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any
from pathlib import Path

# Columns of each table as the opendental mapping reads them.
COLUMNS: dict[str, list[str]] = {
    "definition": ["DefNum", "Category", "ItemOrder", "ItemName", "ItemValue", "IsHidden"],
    "appointmenttype": ["AppointmentTypeNum", "AppointmentTypeName", "IsHidden"],
    "provider": ["ProvNum", "Abbr", "LName", "FName", "Specialty", "IsSecondary", "IsHidden", "ProvStatus", "DateTStamp"],
    "patient": ["PatNum", "LName", "FName", "Preferred", "PatStatus", "Gender", "Birthdate", "WirelessPhone", "Email",
                "PriProv", "DateFirstVisit", "SecDateEntry", "DateTStamp"],
    "procedurecode": ["CodeNum", "ProcCode", "Descript", "AbbrDesc", "ProcTime", "IsHygiene", "IsRadiology", "DateTStamp"],
    "appointment": ["AptNum", "PatNum", "AptStatus", "Pattern", "Confirmed", "Op", "ProvNum", "ProvHyg", "AptDateTime",
                    "IsNewPatient", "IsHygiene", "AppointmentTypeNum", "SecDateTEntry", "DateTStamp"],
    "procedurelog": ["ProcNum", "PatNum", "AptNum", "PlannedAptNum", "ProcDate", "ProcFee", "Surf", "ToothNum",
                     "ProcStatus", "ProvNum", "CodeNum", "DateTP", "DateTStamp"],
    "carrier": ["CarrierNum", "CarrierName", "ElectID", "SecDateTEdit"],
    "insplan": ["PlanNum", "GroupName", "GroupNum", "CarrierNum", "IsHidden", "SecDateTEdit"],
    "inssub": ["InsSubNum", "PlanNum", "Subscriber", "DateEffective", "DateTerm", "SubscriberID", "SecDateTEdit"],
    "patplan": ["PatPlanNum", "PatNum", "Ordinal", "IsPending", "Relationship", "InsSubNum", "SecDateTEdit"],
    "insverify": ["InsVerifyNum", "DateLastVerified", "VerifyType", "FKey", "DefNum", "SecDateTEdit"],
    "referral": ["ReferralNum", "LName", "FName", "Title", "Specialty", "IsDoctor", "NotPerson", "DateTStamp"],
    "refattach": ["RefAttachNum", "ReferralNum", "PatNum", "RefDate", "RefType", "RefToStatus", "ProcNum",
                  "DateProcComplete", "ProvNum", "DateTStamp"],
    "document": ["DocNum", "PatNum", "DocCategory", "DateCreated", "ImgType", "ToothNumbers", "Description", "DateTStamp"],
    "sheet": ["SheetNum", "SheetType", "PatNum", "DateTimeSheet", "Description", "IsWebForm", "IsDeleted",
              "DateTSheetEdited"],
    "mount": ["MountNum", "PatNum", "DocCategory", "DateCreated", "Description"],
    "preference": ["PrefNum", "PrefName", "ValueString"],
    "proccodenote": ["ProcCodeNoteNum", "CodeNum", "ProvNum", "Note", "ProcTime", "ProcStatus"],
    "claim": ["ClaimNum", "PatNum", "DateService", "DateSent", "ClaimStatus", "DateReceived", "PlanNum", "ProvTreat",
              "ClaimFee", "InsPayEst", "InsPayAmt", "ClaimType", "InsSubNum", "SecDateTEdit"],
}

TS = "2026-02-27 17:00:00"
_STAMPS = {"DateTStamp", "SecDateTEdit", "DateTSheetEdited"}


def mini_practice() -> dict[str, list[dict[str, str]]]:
    """A tiny, fully consistent Open Dental practice: 2 providers, 2 patients, one of everything."""
    return {
        "definition": [
            {"DefNum": "10", "Category": "2", "ItemName": "Appointment Confirmed"},
            {"DefNum": "11", "Category": "2", "ItemName": "Left Msg"},
            {"DefNum": "20", "Category": "18", "ItemName": "BWs"},
            {"DefNum": "21", "Category": "18", "ItemName": "Photos"},
            {"DefNum": "30", "Category": "35", "ItemName": "General"},
            {"DefNum": "31", "Category": "35", "ItemName": "Endodontics"},
            {"DefNum": "40", "Category": "38", "ItemName": "Verified"},
            {"DefNum": "41", "Category": "38", "ItemName": "Inactive"},
        ],
        "appointmenttype": [{"AppointmentTypeNum": "1", "AppointmentTypeName": "Consult"}],
        "proccodenote": [{"ProcCodeNoteNum": "1", "CodeNum": "1", "ProvNum": "2", "Note": "", "ProcTime": "/XXXXXXX/",
                          "ProcStatus": "1"}],
        "preference": [{"PrefNum": "1", "PrefName": "PracticeTitle", "ValueString": "Test Dental"},
                       {"PrefNum": "2", "PrefName": "AppointmentTimeIncrement", "ValueString": "5"}],
        "provider": [
            {"ProvNum": "1", "Abbr": "DOC1", "LName": "Alder", "FName": "Quinn", "Specialty": "30", "IsSecondary": "0"},
            {"ProvNum": "2", "Abbr": "HYG1", "LName": "Birch", "FName": "Rowan", "Specialty": "0", "IsSecondary": "1"},
            {"ProvNum": "3", "Abbr": "ENDO", "LName": "Cedar", "FName": "Sage", "Specialty": "31", "IsSecondary": "0"},
        ],
        "patient": [
            {"PatNum": "100", "LName": "Zyxtest", "FName": "Ona", "PatStatus": "0", "Birthdate": "1980-04-12",
             "WirelessPhone": "(555) 010-0100", "PriProv": "1", "DateFirstVisit": "2024-01-10",
             "SecDateEntry": "2024-01-02"},
            {"PatNum": "101", "LName": "Qwvtest", "FName": "Eli", "PatStatus": "Patient", "Birthdate": "0001-01-01",
             "PriProv": "0", "DateFirstVisit": "0001-01-01", "SecDateEntry": "2026-02-20"},
        ],
        "procedurecode": [
            {"CodeNum": "1", "ProcCode": "D1110", "Descript": "Adult cleaning", "ProcTime": "/XXXXXXX/", "IsHygiene": "1"},
            {"CodeNum": "2", "ProcCode": "D0120", "Descript": "Periodic exam", "ProcTime": "X", "IsHygiene": "0"},
            {"CodeNum": "3", "ProcCode": "D0274", "Descript": "Four bitewings", "ProcTime": "XX", "IsRadiology": "1"},
        ],
        "appointment": [
            {"AptNum": "500", "PatNum": "100", "AptStatus": "1", "Pattern": "XXXXXXXXXXXX", "Confirmed": "10",
             "Op": "1", "ProvNum": "1", "ProvHyg": "2", "AptDateTime": "2026-03-03 09:00:00", "IsNewPatient": "0",
             "IsHygiene": "1", "AppointmentTypeNum": "0", "SecDateTEntry": "2026-01-15 10:00:00"},
            {"AptNum": "501", "PatNum": "101", "AptStatus": "Scheduled", "Pattern": "XXXXXX", "Confirmed": "11",
             "Op": "2", "ProvNum": "1", "ProvHyg": "0", "AptDateTime": "3/4/2026 2:30:00 PM", "IsNewPatient": "1",
             "IsHygiene": "0", "AppointmentTypeNum": "1", "SecDateTEntry": "2026-02-21 08:00:00"},
        ],
        "procedurelog": [
            {"ProcNum": "900", "PatNum": "100", "AptNum": "500", "ProcDate": "2026-03-03", "ProcFee": "95.00",
             "ProcStatus": "1", "ProvNum": "2", "CodeNum": "1"},
            {"ProcNum": "901", "PatNum": "100", "AptNum": "500", "ProcDate": "2026-03-03", "ProcFee": "45.00",
             "ProcStatus": "TP", "ProvNum": "1", "CodeNum": "2"},
            {"ProcNum": "902", "PatNum": "100", "AptNum": "0", "ProcDate": "2025-09-01", "ProcFee": "60",
             "ProcStatus": "2", "ProvNum": "2", "CodeNum": "3"},
        ],
        "carrier": [{"CarrierNum": "7", "CarrierName": "Example Dental Plan"}],
        "insplan": [{"PlanNum": "70", "GroupName": "Acme Corp", "GroupNum": "G-1", "CarrierNum": "7", "IsHidden": "0"}],
        "inssub": [{"InsSubNum": "700", "PlanNum": "70", "Subscriber": "100", "DateEffective": "2025-01-01",
                    "DateTerm": "0001-01-01", "SubscriberID": "XQZ123456"}],
        "patplan": [{"PatPlanNum": "7000", "PatNum": "100", "Ordinal": "1", "IsPending": "0", "Relationship": "0",
                     "InsSubNum": "700"}],
        "insverify": [
            {"InsVerifyNum": "1", "DateLastVerified": "2026-02-25", "VerifyType": "2", "FKey": "7000", "DefNum": "40"},
            {"InsVerifyNum": "2", "DateLastVerified": "2026-01-05", "VerifyType": "1", "FKey": "70", "DefNum": "0"},
        ],
        "referral": [{"ReferralNum": "1", "LName": "Smiles", "IsDoctor": "1"}],
        "refattach": [
            {"RefAttachNum": "1", "ReferralNum": "1", "PatNum": "101", "RefDate": "2026-02-20", "RefType": "1",
             "RefToStatus": "0", "ProcNum": "0", "DateProcComplete": "0001-01-01", "ProvNum": "0"},
            {"RefAttachNum": "2", "ReferralNum": "1", "PatNum": "100", "RefDate": "2026-01-10", "RefType": "0",
             "RefToStatus": "2", "ProcNum": "0", "DateProcComplete": "0001-01-01", "ProvNum": "1"},
            {"RefAttachNum": "3", "ReferralNum": "1", "PatNum": "100", "RefDate": "2026-01-11", "RefType": "2",
             "RefToStatus": "0", "ProcNum": "0", "DateProcComplete": "0001-01-01", "ProvNum": "1"},
        ],
        "document": [
            {"DocNum": "1", "PatNum": "100", "DocCategory": "20", "DateCreated": "2025-09-01 10:00:00", "ImgType": "1"},
            {"DocNum": "2", "PatNum": "100", "DocCategory": "21", "DateCreated": "2025-09-01 10:05:00", "ImgType": "2"},
            {"DocNum": "3", "PatNum": "100", "DocCategory": "21", "DateCreated": "2025-09-01 10:06:00", "ImgType": "1"},
        ],
        "sheet": [
            {"SheetNum": "1", "SheetType": "11", "PatNum": "100", "DateTimeSheet": "2025-09-01 09:00:00",
             "Description": "Medical History", "IsDeleted": "0"},
            {"SheetNum": "2", "SheetType": "9", "PatNum": "101", "DateTimeSheet": "2026-02-21 09:00:00",
             "Description": "Welcome Packet", "IsDeleted": "1"},
            {"SheetNum": "3", "SheetType": "13", "PatNum": "101", "DateTimeSheet": "2026-02-21 09:00:00",
             "Description": "New Patient Registration", "IsDeleted": "0"},
        ],
        "claim": [
            {"ClaimNum": "1", "PatNum": "100", "DateService": "2025-09-01", "DateSent": "2025-09-02",
             "ClaimStatus": "R", "DateReceived": "2025-09-20", "PlanNum": "70", "ProvTreat": "2", "ClaimFee": "155.00",
             "InsPayEst": "120.00", "InsPayAmt": "120.00", "ClaimType": "P", "InsSubNum": "700"},
        ],
    }


def write_table(folder: Path, table: str, rows: Iterable[Mapping[str, str]], *, delimiter: str = ",",
                columns: list[str] | None = None, suffix: str = ".csv", encoding: str = "utf-8") -> Path:
    columns = columns or COLUMNS[table]
    path = folder / f"{table}{suffix}"
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, TS if c in _STAMPS else "") for c in columns])
    return path


def write_export(folder: Path, tables: Mapping[str, list[dict[str, str]]] | None = None, **kw: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in (tables or mini_practice()).items():
        write_table(folder, table, rows, **kw)  # type: ignore[arg-type]
    return folder


def csv_config(folder: Path, export: Path, mapping: str = "opendental", key: str = "test") -> Path:
    """A practice config reading ``export`` with ``mapping``, its SQLite store in ``folder``."""
    path = folder / f"{key}.toml"
    path.write_text(
        f'[practice]\nname = "Test Dental"\nkey = "{key}"\ntimezone = "America/Chicago"\n[source]\nconnector = "csv"\n'
        f'mapping = "{mapping}"\npath = "{export.as_posix()}"\n[store]\npath = "{key}.sqlite"\n',
        encoding="utf-8",
    )
    return path


def sync_export(folder: Path, export: Path, extra: str = "") -> tuple[Any, dict[str, dict[str, dict[str, Any]]]]:
    """Sync ``export`` with the opendental mapping (``extra``: TOML appended to the config); returns the
    run's report and the stored rows, entity -> source_id -> row."""
    from pms_bridge.config import load_config
    from pms_bridge.pipeline import run_sync
    from pms_bridge.store import Store

    config = csv_config(folder, export)
    if extra:
        config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    cfg = load_config(config)
    report = run_sync(cfg, None)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return report, {entity: {r["source_id"]: r for r in store.rows(entity)} for entity in store.counts()}
    finally:
        store.close()
