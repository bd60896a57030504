"""One spelling of Open Dental's enums, shared by the sample practice and the fake Open Dental API."""

from __future__ import annotations

from fakes import opendental, opendental_shapes

from pms_bridge.sample import opendental_enums as od
from pms_bridge.sample.tables import TABLES


def test_each_table_the_sample_writes_leads_with_its_primary_key() -> None:
    assert {name: columns[0] for name, columns in TABLES.items()} == {
        name: od.PRIMARY_KEYS[name] for name in TABLES
    }


def test_stamp_columns_are_columns_of_the_tables_the_sample_writes() -> None:
    for table, column in od.STAMP_COLUMN.items():
        assert column in TABLES[table], (table, column)


def test_named_numbers_read_back_as_their_names() -> None:
    assert od.APT_STATUS[od.SCHEDULED] == "Scheduled" and od.APT_STATUS[od.UNSCHED_LIST] == "UnschedList"
    assert (od.PROC_STATUS[od.TP], od.PROC_STATUS[od.C], od.PROC_STATUS[od.EO]) == ("TP", "C", "EO")
    assert od.SHEET_TYPE[od.SHEET_MEDICAL_HISTORY] == "MedicalHistory"
    assert od.IMG_TYPE[od.IMG_RADIOGRAPH] == "Radiograph"
    assert od.DEF_CAT[od.DEF_INS_VERIFY_STATUS] == "InsuranceVerificationStatus"
    assert od.number(od.REF_TO_STATUS, "Complete") == od.REF_COMPLETE == 5


def test_the_fake_speaks_the_same_enums() -> None:
    for name in ("APT_STATUS", "PROC_STATUS", "PAT_STATUS", "SHEET_TYPE", "IMG_TYPE", "REF_TYPE", "DEF_CAT"):
        assert getattr(opendental_shapes, name) is getattr(od, name)
    assert opendental.PRIMARY_KEYS is od.PRIMARY_KEYS and opendental.STAMP_COLUMN is od.STAMP_COLUMN
