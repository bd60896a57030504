"""Mounts: a series of images filed together, on every read route.

GET /documents?PatNum= lists a mount as a row with DocNum 0 and its own MountNum, and leaves the images
inside it out; table exports and the query route have a `mount` table. A mount filed in a radiograph
category is a radiograph series on file, and its id is kept apart from documents' ("mount-12").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fakes.opendental import FakeOpenDental
from odexport import mini_practice
from odroutes import ROUTES, config, dump_export, full_rows, night, rows

from pms_bridge.config import load_config
from pms_bridge.pipeline import run_sync

NOW = datetime(2026, 3, 2, 8, 0)
FMX = {"DefNum": "22", "Category": "18", "ItemName": "FMXs"}



def office(mount: bool = True, images: bool = False) -> FakeOpenDental:
    """The mini practice; patient 101 (new, referred in, booked 2026-03-04) has radiographs only as an FMX
    mount (``mount``), whose images (``images``) are filed in no radiograph category. Mount 1 shares its
    number with document 1 (patient 100's bitewings)."""
    tables = raw_mini_practice()
    tables["definition"].append(FMX)
    if mount:
        tables["mount"].append({"MountNum": "1", "PatNum": "101", "DocCategory": "22",
                                "DateCreated": "2026-02-21 10:00:00", "Description": "FMX from referring office"})
    if images:
        tables["mountitem"] = [{"MountItemNum": str(i), "MountNum": "1", "ItemOrder": str(i)} for i in (1, 2)]
        tables["document"] += [
            {"DocNum": str(10 + i), "PatNum": "101", "DocCategory": "21", "DateCreated": "2026-02-21 10:00:00",
             "ImgType": "2", "MountItemNum": str(i)} for i in (1, 2)]
    return FakeOpenDental(full_rows(tables), now=NOW)


def raw_mini_practice() -> dict[str, list[dict[str, str]]]:
    """The mini practice with the stored numbers the database holds (it mixes in enum names and a US date,
    as raw-mode exports may)."""
    tables = mini_practice()
    tables["patient"][1]["PatStatus"] = "0"
    tables["appointment"][1].update(AptStatus="1", AptDateTime="2026-03-04 14:30:00")
    tables["procedurelog"][1]["ProcStatus"] = "1"
    for table in ("clinic", "eform", "mount"):  # tables every current database has, empty here
        tables.setdefault(table, [])
    return tables


def xr001(report) -> set[str]:  # noqa: ANN001
    return {f.patient_id for f in report.checks.findings if f.rule == "XR001"}


@pytest.mark.parametrize("route", ROUTES)
def test_a_patient_whose_only_radiographs_are_a_mount_gets_no_xr001(
    route: str, tmp_path: Path, keys: None
) -> None:
    with_mount = night(office(mount=True, images=True), config(tmp_path, route, key=f"m-{route}"))
    assert with_mount.status == "ok", [(r.resource, r.error) for r in with_mount.failed]
    assert "101" not in xr001(with_mount)
    stored = rows(tmp_path / f"m-{route}.toml", "document")["mount-1"]
    assert (stored["patient_id"], stored["is_radiograph"], stored["radiograph_kind"]) == ("101", True, "fmx")
    # The same office without the mount: the patient has no radiograph on file, and the rule says so.
    without = night(office(mount=False), config(tmp_path, route, key=f"n-{route}"))
    assert "101" in xr001(without)


@pytest.mark.parametrize("route", ROUTES)
def test_document_1_and_mount_1_are_both_kept(route: str, tmp_path: Path, keys: None) -> None:
    path = config(tmp_path, route)
    night(office(), path)
    documents = rows(path, "document")
    assert set(documents) == {"1", "2", "3", "mount-1"}
    assert documents["1"]["patient_id"] == "100" and documents["mount-1"]["patient_id"] == "101"
    assert "0" not in documents  # the API's DocNum 0 of a mount row is never an id


def test_the_api_lists_mounts_and_leaves_their_images_out(keys: None) -> None:
    fake = office(mount=True, images=True)
    with fake.mock(), httpx.Client(base_url=fake.base_url, headers=fake.headers()) as client:
        listed = client.get("/documents", params={"PatNum": 101}).json()
    assert [(d["DocNum"], d["MountNum"]) for d in listed] == [(0, 1)]
    assert listed[0]["DateTStamp"] == "" and listed[0]["docCategory"] == "FMXs"


def test_an_export_speaks_only_for_its_own_table(tmp_path: Path) -> None:
    """A full document export does not delete mounts it lacks, nor a mount export documents."""
    fake = office()
    fake.insert("mount", {"MountNum": "2", "PatNum": "100", "DocCategory": "20",
                          "DateCreated": "2025-09-01 10:00:00", "Description": "4BW"})
    path = config(tmp_path, "exports")
    night(fake, path, check=False)
    assert set(rows(path, "document")) == {"1", "2", "3", "mount-1", "mount-2"}

    # A night whose export has no mount file at all: every mount stays.
    export = dump_export(fake, tmp_path / "od-exports-exports")
    (export / "mount.csv").unlink()
    report = run_sync(load_config(path), None)
    assert set(rows(path, "document")) == {"1", "2", "3", "mount-1", "mount-2"}
    assert all(r.removed == 0 for r in report.resources)

    # Document 2 deleted in Open Dental: it goes, and no mount with it.
    fake.delete("document", "2")
    report = night(fake, path, check=False)
    assert set(rows(path, "document")) == {"1", "3", "mount-1", "mount-2"}
    assert {r.resource: r.removed for r in report.resources if r.removed} == {"document": 1}

    # Mount 2 deleted: it goes, and no document with it.
    fake.delete("mount", "2")
    report = night(fake, path, check=False)
    assert set(rows(path, "document")) == {"1", "3", "mount-1"}
    assert {r.resource: r.removed for r in report.resources if r.removed} == {"mount": 1}
