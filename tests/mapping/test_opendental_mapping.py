"""The opendental mapping turns Open Dental's tables into the normalized model."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from odexport import csv_config, mini_practice, write_export

from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync
from pms_bridge.store import Store

TZ = ZoneInfo("America/Chicago")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    tmp = tmp_path_factory.mktemp("od")
    export = write_export(tmp / "exports", mini_practice())
    cfg = load_config(csv_config(tmp, export))
    run_sync(cfg, None)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    rows = {entity: {r["source_id"]: r for r in store.rows(entity)} for entity in store.counts()}
    store.close()
    return rows


def test_providers(snapshot) -> None:
    p = snapshot["provider"]
    assert (p["1"]["kind"], p["1"]["specialty"], p["1"]["abbr"]) == ("dentist", "General", "DOC1")
    assert p["2"]["kind"] == "hygienist" and p["2"]["specialty"] is None
    assert p["3"]["kind"] == "specialist" and p["3"]["specialty"] == "Endodontics"


def test_patients_unset_dates_and_status_names(snapshot) -> None:
    p = snapshot["patient"]
    assert p["100"]["birth_date"] == date(1980, 4, 12) and p["100"]["primary_provider_id"] == "1"
    assert p["100"]["first_contact_date"] == date(2024, 1, 2)
    assert p["101"]["birth_date"] is None and p["101"]["first_visit_date"] is None  # 0001-01-01
    assert p["101"]["status"] == "patient"  # enum given by name
    assert p["101"]["primary_provider_id"] is None  # 0 = unset


def test_appointments(snapshot) -> None:
    a = snapshot["appointment"]
    assert a["500"]["start"] == datetime(2026, 3, 3, 9, 0, tzinfo=TZ)
    assert a["500"]["minutes"] == 60  # 12 pattern characters x 5 min
    assert (a["500"]["provider_id"], a["500"]["hygienist_id"], a["500"]["is_hygiene"]) == ("1", "2", True)
    assert a["500"]["confirmed"] is True and a["500"]["confirmation"] == "Appointment Confirmed"
    assert a["501"]["start"] == datetime(2026, 3, 4, 14, 30, tzinfo=TZ)  # US-format raw export
    assert a["501"]["hygienist_id"] is None and a["501"]["is_new_patient"] is True
    assert a["501"]["confirmed"] is False and a["501"]["appointment_type"] == "Consult"


def test_procedures_and_codes(snapshot) -> None:
    p, c = snapshot["procedure"], snapshot["procedure_code"]
    assert (p["900"]["code"], p["900"]["status"], p["900"]["provider_id"]) == ("D1110", "planned", "2")
    assert p["901"]["status"] == "planned"  # "TP" by name
    assert p["902"]["appointment_id"] is None and p["902"]["status"] == "complete"
    assert p["902"]["fee"] == Decimal("60.00")
    assert c["1"]["default_minutes"] == 45 and c["1"]["is_hygiene"] is True
    assert c["3"]["is_radiology"] is True and c["2"]["default_minutes"] == 5


def test_coverage_is_assembled_from_patplan_inssub_insplan_carrier(snapshot) -> None:
    cov = snapshot["coverage"]["7000"]
    assert cov["patient_id"] == "100" and cov["ordinal"] == 1 and cov["relationship"] == "self"
    assert (cov["plan_id"], cov["plan_name"], cov["group_number"]) == ("70", "Acme Corp", "G-1")
    assert (cov["carrier_id"], cov["carrier_name"]) == ("7", "Example Dental Plan")
    assert cov["subscriber_id"] == "XQZ123456" and cov["subscriber_patient_id"] == "100"
    assert cov["effective_date"] == date(2025, 1, 1) and cov["term_date"] is None
    assert cov["plan_hidden"] is False


def test_verifications(snapshot) -> None:
    v = snapshot["verification"]
    assert (v["1"]["kind"], v["1"]["coverage_id"], v["1"]["plan_id"]) == ("eligibility", "7000", None)
    assert v["1"]["result"] == "verified" and v["1"]["verified_on"] == date(2026, 2, 25)
    assert (v["2"]["kind"], v["2"]["coverage_id"], v["2"]["plan_id"]) == ("benefits", None, "70")
    assert v["2"]["result"] == "verified"  # a date and no status: verified


def test_referrals(snapshot) -> None:
    r = snapshot["referral"]
    assert set(r) == {"1", "2"}  # RefCustom (3) is left out
    assert (r["1"]["direction"], r["1"]["status"], r["1"]["referral_date"]) == ("in", "none", date(2026, 2, 20))
    assert (r["2"]["direction"], r["2"]["status"]) == ("out", "scheduled")
    assert r["2"]["completed_date"] is None


def test_documents_radiograph_by_category_or_image_type(snapshot) -> None:
    d = snapshot["document"]
    assert (d["1"]["is_radiograph"], d["1"]["radiograph_kind"]) == (True, "bitewing")
    assert (d["2"]["is_radiograph"], d["2"]["radiograph_kind"]) == (False, None)  # a photo
    assert (d["3"]["is_radiograph"], d["3"]["radiograph_kind"]) == (True, "other")  # typed radiograph
    assert d["1"]["taken_date"] == date(2025, 9, 1)


def test_forms_by_sheet_type_or_title_and_deleted(snapshot) -> None:
    f = snapshot["form"]
    assert f["1"]["kind"] == "health_history" and f["1"]["completed_at"] == datetime(2025, 9, 1, 9, tzinfo=TZ)
    assert f["2"]["kind"] == "registration" and f["2"]["is_deleted"] is True
    assert f["3"]["kind"] == "registration"  # an exam sheet titled as a registration form


def test_claims(snapshot) -> None:
    c = snapshot["claim"]["1"]
    assert (c["status"], c["claim_type"], c["sent_date"]) == ("received", "primary", date(2025, 9, 2))
    assert (c["fee"], c["insurance_paid"], c["plan_id"], c["provider_id"]) == (
        Decimal("155.00"), Decimal("120.00"), "70", "2")


def test_every_record_keeps_source_update_time(snapshot) -> None:
    for entity, rows in snapshot.items():
        if entity == "provider_code_time":  # proccodenote has no change stamp in Open Dental
            continue
        for row in rows.values():
            assert row["source_updated_at"] == datetime(2026, 2, 27, 17, tzinfo=TZ), entity


def test_api_style_enum_names_are_accepted(tmp_path: Path) -> None:
    """ShortQuery / API rows may carry enum names; the mapping accepts both."""
    tables = mini_practice()
    tables["appointment"][0]["AptStatus"] = "Broken"
    tables["procedurelog"][0]["ProcStatus"] = "C"
    tables["refattach"][0]["RefType"] = "RefFrom"
    tables["refattach"][0]["RefToStatus"] = "InTreatment"
    tables["insverify"][0]["VerifyType"] = "PatientEnrollment"
    tables["document"][2]["ImgType"] = "Radiograph"
    tables["sheet"][0]["SheetType"] = "MedicalHistory"
    tables["patplan"][0]["Relationship"] = "Spouse"
    export = write_export(tmp_path / "exports", tables)
    cfg = load_config(csv_config(tmp_path, export))
    report = run_sync(cfg, None)
    assert report.quarantined == 0
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    get = lambda e, i, f: next(r[f] for r in store.rows(e) if r["source_id"] == i)  # noqa: E731
    assert get("appointment", "500", "status") == "broken"
    assert get("procedure", "900", "status") == "complete"
    assert get("referral", "1", "status") == "in_treatment"
    assert get("verification", "1", "coverage_id") == "7000"
    assert get("document", "3", "radiograph_kind") == "other"
    assert get("form", "1", "kind") == "health_history"
    assert get("coverage", "7000", "relationship") == "spouse"
    store.close()
