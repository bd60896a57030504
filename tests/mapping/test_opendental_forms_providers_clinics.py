"""Open Dental's forms (sheets and eForms), provider specialties and clinics through the opendental mapping."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from odexport import COLUMNS, mini_practice, sync_export, write_export, write_table

from pms_bridge.pipeline.report import SyncReport

TZ = ZoneInfo("America/Chicago")
EFORM_COLUMNS = ["EFormNum", "FormType", "PatNum", "DateTimeShown", "Description", "DateTEdited", "EFormDefNum",
                 "Status"]
CLINIC_COLUMNS = ["ClinicNum", "Description", "Abbr"]


def _sheet(num: str, sheet_type: str, title: str) -> dict[str, str]:
    return {"SheetNum": num, "SheetType": sheet_type, "PatNum": "101", "DateTimeSheet": "2026-02-21 09:00:00",
            "Description": title, "IsDeleted": "0"}


def _eform(num: str, form_type: str, title: str, status: str = "3") -> dict[str, str]:
    return {"EFormNum": num, "FormType": form_type, "PatNum": "101", "DateTimeShown": "2026-02-22 10:00:00",
            "Description": title, "DateTEdited": "2026-02-22 10:05:00", "EFormDefNum": "0", "Status": status}


SHEETS = [
    _sheet("10", "9", "HIPAA"),
    _sheet("11", "9", "Registration Form"),
    _sheet("12", "9", "New Patient Intake"),
    _sheet("13", "9", "Pet Policy"),  # a practice's own patient form nothing places
    _sheet("14", "11", "Our Questionnaire"),  # MedicalHistory whatever its title
    _sheet("15", "9", "Financial Agreement"),
    _sheet("16", "9", "Medical History Update"),
    _sheet("17", "PatientForm", "COVID-19 Screening Questions"),
]
EFORMS = [
    _eform("1", "0", "Patient Registration"),  # EFormNum 1 and SheetNum 1 both exist: kept apart
    _eform("8", "MedicalHistory", "Medical History", status="Filled"),
    _eform("9", "0", "Patient Registration", status="1"),  # sent to eClipboard, not filled in yet
    _eform("10", "0", "Pet Policy"),
]


def _tables() -> dict[str, list[dict[str, str]]]:
    tables = mini_practice()
    tables["sheet"] += SHEETS
    tables["definition"] += [
        {"DefNum": "32", "Category": "35", "ItemName": "Perio"},
        {"DefNum": "33", "Category": "35", "ItemName": "Sleep Medicine"},
        {"DefNum": "34", "Category": "35", "ItemName": "Surgery"},
    ]
    tables["provider"] += [
        {"ProvNum": "4", "Abbr": "PER", "LName": "Dogwood", "FName": "Ash", "Specialty": "32", "IsSecondary": "0"},
        {"ProvNum": "5", "Abbr": "SLP", "LName": "Elm", "FName": "Bay", "Specialty": "33", "IsSecondary": "0"},
        {"ProvNum": "6", "Abbr": "OS", "LName": "Fir", "FName": "Cy", "Specialty": "34", "IsSecondary": "0"},
    ]
    return tables


def _export(folder: Path, tables: dict[str, list[dict[str, str]]], eforms: list[dict[str, str]] | None = None,
            clinics: list[dict[str, str]] | None = None) -> Path:
    write_export(folder, tables)
    if eforms is not None:
        write_table(folder, "eform", eforms, columns=EFORM_COLUMNS)
    if clinics is not None:
        write_table(folder, "clinic", clinics, columns=CLINIC_COLUMNS)
    return folder


def _sync(tmp: Path, export: Path, extra: str = "") -> tuple[SyncReport, dict[str, dict[str, dict]]]:
    return sync_export(tmp, export, extra)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyncReport, dict[str, dict[str, dict]]]:
    tmp = tmp_path_factory.mktemp("forms")
    return _sync(tmp, _export(tmp / "exports", _tables(), EFORMS))


def test_a_patient_form_is_registration_only_when_its_title_says_so(synced) -> None:
    report, rows = synced
    assert report.status == "ok" and report.quarantined == 0
    kinds = {sid: rows["form"][sid]["kind"] for sid in ("10", "11", "12", "13", "14", "15", "16", "17")}
    assert kinds == {
        "10": "other", "11": "registration", "12": "registration", "13": "other", "14": "health_history",
        "15": "other", "16": "health_history", "17": "other",
    }


def test_eforms_are_forms_keyed_apart_from_sheets(synced) -> None:
    _, rows = synced
    forms = rows["form"]
    assert forms["1"]["kind"] == "health_history"  # the sheet with number 1 (mini practice)
    assert forms["eform-1"]["kind"] == "registration" and forms["eform-1"]["patient_id"] == "101"
    assert forms["eform-1"]["completed_at"] == datetime(2026, 2, 22, 10, tzinfo=TZ)
    assert forms["eform-1"]["source_updated_at"] == datetime(2026, 2, 22, 10, 5, tzinfo=TZ)
    assert forms["eform-8"]["kind"] == "health_history"
    assert forms["eform-8"]["completed_at"] == datetime(2026, 2, 22, 10, tzinfo=TZ)  # "Filled": completed when shown
    assert forms["eform-9"]["kind"] == "registration" and forms["eform-9"]["completed_at"] is None  # not filled in


def test_open_dental_default_specialties(synced) -> None:
    _, rows = synced
    kinds = {sid: (p["specialty"], p["kind"]) for sid, p in rows["provider"].items()}
    assert kinds["1"] == ("General", "dentist")
    assert kinds["3"] == ("Endodontics", "specialist")
    assert kinds["4"] == ("Perio", "specialist")
    assert kinds["6"] == ("Surgery", "specialist")
    assert kinds["5"] == ("Sleep Medicine", "dentist")  # unplaced: counted as a dentist, and reported


def test_labels_nothing_places_are_reported_under_their_config_key(synced) -> None:
    report, _ = synced
    unmapped = report.unmapped_labels
    assert unmapped["mapping.settings.form_titles"] == {"Pet Policy": 2}  # the sheet and the eForm
    assert unmapped["mapping.settings.specialist_specialties"] == {"Sleep Medicine": 1}
    assert report.to_summary()["unmapped_labels"]["mapping.settings.form_titles"] == {"Pet Policy": 2}


def test_the_practice_places_its_own_titles_and_specialties(tmp_path: Path) -> None:
    extra = (
        '[mapping.settings.form_titles]\n"Pet Policy" = "consent"\n'
        '[mapping.settings.form_title_patterns]\n"questionnaire" = "registration"\n'
        '[mapping.settings]\nspecialist_specialties = ["Sleep Medicine"]\n'
    )
    tables = _tables()
    tables["sheet"].append(_sheet("18", "9", "Welcome Questionnaire"))
    report, rows = _sync(tmp_path, _export(tmp_path / "exports", tables, EFORMS), extra)
    assert rows["form"]["13"]["kind"] == "consent" and rows["form"]["eform-10"]["kind"] == "consent"
    assert rows["form"]["18"]["kind"] == "registration"
    assert rows["provider"]["5"]["kind"] == "specialist"
    assert rows["provider"]["3"]["kind"] == "dentist"  # the practice's list replaces the default one
    assert "mapping.settings.form_titles" not in report.unmapped_labels


def test_a_full_export_of_one_form_table_never_removes_the_other(tmp_path: Path) -> None:
    export = _export(tmp_path / "exports", _tables(), EFORMS)
    _sync(tmp_path, export)
    write_table(export, "eform", [e for e in EFORMS if e["EFormNum"] != "8"], columns=EFORM_COLUMNS)
    sheets = [s for s in mini_practice()["sheet"] + SHEETS if s["SheetNum"] != "13"]
    write_table(export, "sheet", sheets, columns=COLUMNS["sheet"])
    report, rows = _sync(tmp_path, export)
    assert "eform-8" not in rows["form"] and "13" not in rows["form"]  # deleted in Open Dental
    assert {"eform-1", "eform-9", "eform-10", "1", "2", "3", "10", "17"} <= set(rows["form"])
    removed = {r.resource: r.removed for r in report.resources}
    assert removed["sheet"] == 1 and removed["eform"] == 1


def _clinic_tables() -> dict[str, list[dict[str, str]]]:
    tables = mini_practice()
    tables["appointment"][0]["ClinicNum"] = "3"
    tables["appointment"][1]["ClinicNum"] = "4"
    tables["patient"][0]["ClinicNum"] = "4"
    tables["patient"][1]["ClinicNum"] = "0"
    return tables


def _clinic_export(folder: Path, clinics: list[dict[str, str]] | None) -> Path:
    tables = _clinic_tables()
    for table in ("appointment", "patient"):
        write_table(folder, table, tables.pop(table), columns=[*COLUMNS[table], "ClinicNum"])
    return _export(folder, tables, clinics=clinics)


def test_clinics_are_mapped_with_their_names(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    clinics = [{"ClinicNum": "3", "Description": "Main Street", "Abbr": "MAIN"},
               {"ClinicNum": "4", "Description": "Oak Grove", "Abbr": ""}]
    report, rows = _sync(tmp_path, _clinic_export(folder, clinics))
    assert report.status == "ok"
    apt, pat = rows["appointment"], rows["patient"]
    assert (apt["500"]["clinic_id"], apt["500"]["clinic"]) == ("3", "MAIN")
    assert (apt["501"]["clinic_id"], apt["501"]["clinic"]) == ("4", "Oak Grove")  # no abbreviation
    assert (pat["100"]["clinic_id"], pat["100"]["clinic"]) == ("4", "Oak Grove")
    assert (pat["101"]["clinic_id"], pat["101"]["clinic"]) == (None, None)  # ClinicNum 0: no clinic


def test_clinic_numbers_without_the_clinic_table_and_offices_without_clinics(tmp_path: Path) -> None:
    folder = tmp_path / "with-numbers"
    folder.mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, rows = _sync(tmp_path / "a", _clinic_export(folder, None))
    assert (rows["appointment"]["500"]["clinic_id"], rows["appointment"]["500"]["clinic"]) == ("3", None)
    _, plain = _sync(tmp_path / "b", write_export(tmp_path / "plain", mini_practice()))  # no ClinicNum column
    assert all(r["clinic_id"] is None and r["clinic"] is None for r in plain["appointment"].values())
