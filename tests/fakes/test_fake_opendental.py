"""The fake Open Dental API behaves like the documented one (httpx against the respx mock)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from fakes.opendental import ECONNECTOR_MESSAGE, FakeOpenDental
from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.sample import generate_practice

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
NOW = datetime(2026, 3, 2, 8, 0)


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("od") / "practice"
    generate_practice(folder, as_of=DEMO_AS_OF, seed=7, patients=60)
    return folder


@pytest.fixture
def fake(export: Path) -> Iterator[FakeOpenDental]:
    od = FakeOpenDental.from_export(export, now=NOW)
    with od.mock():
        yield od


@pytest.fixture
def client(fake: FakeOpenDental) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=fake.headers()) as c:
        yield c


def get_all(client: httpx.Client, path: str, **params: str) -> list[dict]:
    rows, offset = [], 0
    while True:
        page = client.get(path, params={**params, "Offset": offset}).json()
        rows += page
        if len(page) < 100:
            return rows
        offset += len(page)


# ---------------------------------------------------------------- auth and headers
def test_bad_key_is_401_with_a_text_body(fake: FakeOpenDental) -> None:
    for auth in ("ODFHIR dev-key/wrong", "Bearer x", None):
        headers = {"Authorization": auth} if auth else {}
        r = httpx.get(f"{fake.base_url}/appointments", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("text/plain") and r.text


def test_a_body_needs_json_content_type(fake: FakeOpenDental, client: httpx.Client) -> None:
    fake.add_tasklist("Coordinator")
    r = client.post("/tasks", content=b'{"TaskListNum": 1}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    assert not fake.tasks


def test_unknown_path_is_404(client: httpx.Client) -> None:
    assert client.get("/nosuchthing").status_code == 404
    assert client.delete("/appointments").status_code == 404


# ---------------------------------------------------------------- paging
def test_pages_of_100_with_a_short_last_page(fake: FakeOpenDental, client: httpx.Client) -> None:
    total = len(fake.tables["appointment"])
    assert total > 200
    sizes, seen = [], []
    for offset in range(0, total + 100, 100):
        page = client.get("/appointments", params={"Offset": offset}).json()
        sizes.append(len(page))
        seen += [a["AptNum"] for a in page]
    assert sizes[:-2] == [100] * (len(sizes) - 2) and sizes[-2] == total % 100 and sizes[-1] == 0
    assert sorted(seen) == sorted(fake.tables["appointment"])  # every row once: a stable order
    assert client.get("/appointments", params={"Offset": total + 500}).json() == []
    assert len(client.get("/appointments", params={"Limit": 1000}).json()) == 100  # Limit is capped
    assert len(client.get("/appointments", params={"Limit": 7, "Offset": 3}).json()) == 7


def test_local_api_pages_of_1000(export: Path) -> None:
    fake = FakeOpenDental.from_export(export, page_size=1000, base_url="http://localhost:30222/api/v1")
    with fake.mock(), httpx.Client(base_url=fake.base_url, headers=fake.headers()) as c:
        procs = c.get("/procedurelogs").json()
        assert len(procs) == len(fake.tables["procedurelog"]) < 1000
        assert [p["ProcNum"] for p in procs] == sorted(fake.tables["procedurelog"])
        assert len(c.get("/procedurelogs", params={"Limit": 50}).json()) == 50
        assert len(c.get("/procedurelogs", params={"Limit": 5000}).json()) == len(procs)


# ---------------------------------------------------------------- incremental filters
def test_datetstamp_returns_rows_changed_since_the_stored_server_time(fake: FakeOpenDental,
                                                                      client: httpx.Client) -> None:
    first = get_all(client, "/patients/Simple")
    assert len(first) == len(fake.tables["patient"])
    server = first[0]["serverDateTime"]
    assert server == "2026-03-02 08:00:00" and all(p["serverDateTime"] == server for p in first)
    assert client.get("/patients/Simple", params={"DateTStamp": server}).json() == []
    fake.advance(minutes=5)
    fake.touch("patient", "7", WirelessPhone="(555)555-0100")
    fake.insert("procedurelog", {**fake.tables["procedurelog"][1], "ProcNum": "", "ProcStatus": "1"})
    changed = client.get("/patients/Simple", params={"DateTStamp": server}).json()
    assert [(p["PatNum"], p["WirelessPhone"], p["DateTStamp"]) for p in changed] == [
        (7, "(555)555-0100", "2026-03-02 08:05:00")]
    assert changed[0]["serverDateTime"] == "2026-03-02 08:05:00"
    # on or after: a row stamped exactly at the value comes back
    again = client.get("/patients/Simple", params={"DateTStamp": "2026-03-02 08:05:00"}).json()
    assert [p["PatNum"] for p in again] == [7]
    new_procs = client.get("/procedurelogs", params={"DateTStamp": server}).json()
    assert [p["ProcNum"] for p in new_procs] == [max(fake.tables["procedurelog"])]
    assert new_procs[0]["ProcStatus"] == "TP"
    assert client.get("/patients/Simple", params={"DateTStamp": "03/02/2026"}).status_code == 400


def test_appointment_filters(fake: FakeOpenDental, client: httpx.Client) -> None:
    apts = fake.tables["appointment"]
    day = next(iter(apts.values()))["AptDateTime"][:10]
    on_day = client.get("/appointments", params={"dateStart": day, "dateEnd": day}).json()
    assert on_day and {a["AptDateTime"][:10] for a in on_day} == {day}
    assert len(on_day) == sum(1 for a in apts.values() if a["AptDateTime"].startswith(day))
    scheduled = get_all(client, "/appointments", AptStatus="Scheduled")
    assert scheduled and {a["AptStatus"] for a in scheduled} == {"Scheduled"}
    assert len(scheduled) == sum(1 for a in apts.values() if a["AptStatus"] == "1")
    assert {a["PatNum"] for a in client.get("/appointments", params={"PatNum": 3}).json()} == {3}
    assert client.get("/appointments", params={"AptStatus": "1"}).status_code == 400
    fake.delete("appointment", str(on_day[0]["AptNum"]))
    assert len(client.get("/appointments", params={"date": day}).json()) == len(on_day) - 1


def test_secdatetedit_filters(fake: FakeOpenDental, client: httpx.Client) -> None:
    fake.advance(days=1)
    fake.touch("claim", "3", ClaimStatus="S")
    fake.touch("insverify", "2", DefNum="21")
    since = "2026-03-03 00:00:00"
    assert [(c["ClaimNum"], c["ClaimStatus"]) for c in client.get("/claims", params={"SecDateTEdit": since}).json()
            ] == [(3, "S")]
    assert [v["InsVerifyNum"] for v in client.get("/insverifies", params={"SecDateTEdit": since}).json()] == [2]
    assert client.get("/inssubs", params={"SecDateTEdit": since}).json() == []
    assert client.get("/insverifies", params={"FKey": 1}).status_code == 400  # FKey needs VerifyType


# ---------------------------------------------------------------- required PatNum
@pytest.mark.parametrize("path", ["/documents", "/sheets"])
def test_patnum_is_required(client: httpx.Client, path: str) -> None:
    assert client.get(path).status_code == 400
    assert client.get(path, params={"PatNum": 1}).status_code == 200
    assert client.get(path, params={"PatNum": 99999}).status_code == 404


def test_patnum_is_optional_where_the_docs_say_so(export: Path) -> None:
    for required, status in ((("/documents", "/sheets"), 200), (("/patplans", "/refattaches"), 400)):
        fake = FakeOpenDental.from_export(export, patnum_required=required)
        with fake.mock():  # one fake per base URL at a time: respx mocks do not nest
            for path in ("/patplans", "/refattaches"):
                assert httpx.get(f"{fake.base_url}{path}", headers=fake.headers()).status_code == status


# ---------------------------------------------------------------- row shapes
def test_text_enums_and_string_booleans(client: httpx.Client) -> None:
    apt = client.get("/appointments").json()[0]
    assert apt["AptStatus"] in {"Scheduled", "Complete", "Broken", "Planned", "UnschedList"}
    assert apt["IsHygiene"] in {"true", "false"} and apt["IsNewPatient"] in {"true", "false"}
    assert isinstance(apt["AptNum"], int) and isinstance(apt["Confirmed"], int) and apt["confirmed"]
    assert apt["provAbbr"] and DATETIME.match(apt["AptDateTime"]) and DATETIME.match(apt["serverDateTime"])
    proc = client.get("/procedurelogs").json()[0]
    assert proc["ProcStatus"] in {"TP", "C", "EC", "EO", "R", "D", "Cn", "TPi"}
    assert proc["procCode"].startswith("D") and proc["descript"] and re.fullmatch(r"\d+\.\d\d", proc["ProcFee"])
    pat = client.get("/patients/Simple").json()[0]
    assert pat["PatStatus"] == "Patient" and pat["Gender"] in {"Male", "Female", "Unknown", "Other"}
    for field in ("Preferred", "WirelessPhone", "Email", "DateFirstVisit", "SecDateEntry", "priProvAbbr"):
        assert field in pat
    assert DATE.match(pat["Birthdate"]) and DATE.match(pat["SecDateEntry"])
    prov = client.get("/providers").json()[0]
    assert isinstance(prov["Specialty"], int) and prov["ProvStatus"] == "Active" and prov["IsSecondary"] == "false"
    refs = get_all(client, "/refattaches")
    assert {r["ReferralType"] for r in refs} <= {"RefTo", "RefFrom", "RefCustom"} and "RefType" not in refs[0]
    assert {r["RefToStatus"] for r in refs} <= {"None", "Declined", "Scheduled", "Consulted", "InTreatment", "Complete"}
    assert any(r["DateProcComplete"] == "0001-01-01" for r in refs)
    assert {v["VerifyType"] for v in get_all(client, "/insverifies")} <= {"InsuranceBenefit", "PatientEnrollment"}
    assert {p["Relationship"] for p in get_all(client, "/patplans")} <= {"Self", "Spouse", "Child"}
    assert {s["SheetType"] for s in client.get("/sheets", params={"PatNum": 1}).json()} <= {
        "PatientForm", "MedicalHistory", "Consent", "ExamSheet", "PatientLetter"}
    claim = client.get("/claims").json()[0]
    assert claim["ClaimStatus"] in {"U", "H", "W", "S", "R", "I"} and claim["ClaimType"] == "P"
    assert isinstance(claim["ClaimFee"], float)
    hidden = [d for d in client.get("/definitions", params={"includeHidden": "true"}).json() if d["isHidden"] == "true"]
    shown = client.get("/definitions").json()
    assert hidden and not {d["DefNum"] for d in hidden} & {d["DefNum"] for d in shown}
    assert {d["category"] for d in client.get("/definitions", params={"Category": 18}).json()} == {"ImageCats"}


def test_documents_list_has_no_imgtype_but_the_single_get_does(client: httpx.Client) -> None:
    docs = client.get("/documents", params={"PatNum": 1}).json()
    assert docs and "ImgType" not in docs[0] and docs[0]["docCategory"]
    assert [d["DateCreated"] for d in docs] == sorted(d["DateCreated"] for d in docs)
    one = client.get(f"/documents/{docs[0]['DocNum']}").json()
    assert one["ImgType"] in {"Document", "Radiograph", "Photo", "File", "Attachment"}
    assert client.get("/documents/99999").status_code == 404


def test_deleted_sheets_are_not_returned(fake: FakeOpenDental, client: httpx.Client) -> None:
    before = client.get("/sheets", params={"PatNum": 1}).json()
    fake.insert("sheet", {"SheetNum": "", "SheetType": "11", "PatNum": "1", "DateTimeSheet": "2026-03-01 09:00:00",
                          "Description": "Medical History", "IsWebForm": "0", "IsDeleted": "1"})
    assert client.get("/sheets", params={"PatNum": 1}).json() == before
    assert "IsDeleted" not in before[0]


# ---------------------------------------------------------------- faults
def test_seeded_fault_rate(export: Path) -> None:
    def run(seed: int) -> list[str]:
        fake = FakeOpenDental.from_export(export)
        fake.set_fault_rate(0.2, seed=seed)
        out = []
        with fake.mock(), httpx.Client(base_url=fake.base_url, headers=fake.headers()) as c:
            for _ in range(60):
                try:
                    out.append(str(c.get("/providers").status_code))
                except httpx.TransportError as exc:
                    out.append(type(exc).__name__)
        assert fake.count() == 60
        return out

    outcomes = run(seed=3)
    failures = [o for o in outcomes if o != "200"]
    assert 3 <= len(failures) <= 25 and outcomes.count("200") > 30
    assert set(failures) <= {"500", "502", "503", "504", "400", "ReadTimeout", "RemoteProtocolError"}
    assert run(seed=3) == outcomes and run(seed=4) != outcomes


def test_fail_next(fake: FakeOpenDental, client: httpx.Client) -> None:
    fake.fail_next(2, "504")
    assert [client.get("/providers").status_code for _ in range(3)] == [504, 504, 200]
    fake.fail_next(1, "timeout")
    with pytest.raises(httpx.ReadTimeout):
        client.get("/providers")
    fake.fail_next(1, "reset")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/providers")
    fake.fail_next(1, "econnector")
    r = client.get("/providers")
    assert r.status_code == 400 and r.json() == ECONNECTOR_MESSAGE
    fake.fail_next(1, "429")
    assert client.get("/providers").status_code == 429
    assert [r.status for r in fake.requests[-4:]] == [None, None, 400, 429]
    with pytest.raises(ValueError):
        fake.fail_next(1, "418")


def test_a_failed_request_changes_nothing(fake: FakeOpenDental, client: httpx.Client) -> None:
    tl = fake.add_tasklist("Coordinator")
    fake.fail_next(1, "500")
    assert client.post("/tasks", json={"TaskListNum": tl, "Descript": "x", "UserNum": 1}).status_code == 500
    assert fake.tasks == {}
    assert client.post("/tasks", json={"TaskListNum": tl, "Descript": "x", "UserNum": 1}).status_code == 201


# ---------------------------------------------------------------- ShortQuery
def test_short_query_pages_and_where(fake: FakeOpenDental, client: httpx.Client) -> None:
    total = len(fake.tables["procedurelog"])
    sql = {"SqlCommand": "SELECT * FROM procedurelog"}
    rows = []
    for offset in range(0, total + 1, 100):
        page = client.put("/queries/ShortQuery", params={"Offset": offset}, json=sql).json()
        assert len(page) == min(100, total - offset)
        rows += page
    assert [r["ProcNum"] for r in rows] == sorted(fake.tables["procedurelog"])
    first = rows[0]  # database-shaped: enum numbers, numbers as numbers, no serverDateTime
    assert isinstance(first["ProcStatus"], int) and isinstance(first["ProcFee"], float)
    assert first["DateTStamp"].count("T") == 1 and "serverDateTime" not in first
    cut = "2025-12-01 00:00:00"
    newer = client.put("/queries/ShortQuery",
                       json={"SqlCommand": f"SELECT * FROM patient WHERE DateTStamp >= '{cut}'"}).json()
    expected = sorted(k for k, p in fake.tables["patient"].items() if p["DateTStamp"] >= cut)
    assert [p["PatNum"] for p in newer] == expected and 0 < len(expected) < len(fake.tables["patient"])
    strict = client.put("/queries/ShortQuery",
                        json={"SqlCommand": f"SELECT * FROM patient WHERE DateTStamp > '{newer[0]['DateTStamp']}'"})
    assert newer[0]["PatNum"] not in [p["PatNum"] for p in strict.json()]


def test_short_query_now_and_refusals(fake: FakeOpenDental, client: httpx.Client) -> None:
    def q(sql: str) -> httpx.Response:
        return client.put("/queries/ShortQuery", json={"SqlCommand": sql})

    assert q("SELECT NOW()").json() == [{"NOW()": "2026-03-02T08:00:00"}]
    assert q("UPDATE patient SET LName='x'").status_code == 401  # the docs: not read-only -> 401
    assert q("SELECT PatNum FROM patient JOIN x").status_code == 400
    assert q("SELECT * FROM nosuchtable").status_code == 400
    assert q("SELECT * FROM patient WHERE NoSuchColumn >= '2020-01-01'").status_code == 400
    assert client.put("/queries/ShortQuery", json={}).status_code == 400
    assert fake.tables["patient"][1]["LName"] != "x"


# ---------------------------------------------------------------- tasks and commlogs
def test_task_lists_and_required_fields(fake: FakeOpenDental, client: httpx.Client) -> None:
    tl = fake.add_tasklist("Coordinator")
    fake.add_tasklist("Old", status="Archived")
    assert [t["Descript"] for t in client.get("/tasklists").json()] == ["Coordinator"]
    assert [t["Descript"] for t in client.get("/tasklists", params={"TaskListStatus": "Archived"}).json()] == ["Old"]
    for body in ({"Descript": "x", "UserNum": 1}, {"TaskListNum": tl, "UserNum": 1}, {"TaskListNum": tl, "Descript": "x"},
                 {"TaskListNum": 999, "Descript": "x", "UserNum": 1},
                 {"TaskListNum": tl, "Descript": "x", "UserNum": 1, "KeyNum": 5},
                 {"TaskListNum": tl, "Descript": "x", "UserNum": 1, "DescriptOverride": "y" * 257}):
        assert client.post("/tasks", json=body).status_code == 400, body
    body = {"TaskListNum": tl, "Descript": "x", "UserNum": 1, "KeyNum": 99999, "ObjectType": "Patient"}
    assert client.post("/tasks", json=body).status_code == 404
    assert fake.tasks == {}


def test_task_round_trip(fake: FakeOpenDental, client: httpx.Client) -> None:
    tl = fake.add_tasklist("Coordinator")
    r = client.post("/tasks", json={"TaskListNum": str(tl), "Descript": "Missing x-rays", "UserNum": 12,
                                    "KeyNum": 181, "ObjectType": "Appointment", "DescriptOverride": "[pmsb:abc]"})
    assert r.status_code == 201
    task = r.json()
    assert task["TaskNum"] == 1 and task["TaskStatus"] == "New" and task["TaskListNum"] == tl
    assert task["DateTimeEntry"] == task["DateTimeOriginal"] == "2026-03-02 08:00:00"
    assert task["IsRepeating"] == "false" and task["DateTimeFinished"] == "0001-01-01 00:00:00"
    fake.advance(hours=1)
    r = client.put("/tasks/1", json={"Descript": "Missing x-rays (2)"})
    assert r.status_code == 200 and r.json()["Descript"] == "Missing x-rays (2)"
    assert r.json()["SecDateTEdit"] == "2026-03-02 09:00:00"
    done = client.put("/tasks/1", json={"TaskStatus": "Done"}).json()
    assert done["TaskStatus"] == "Done" and done["DateTimeFinished"] == "2026-03-02 09:00:00"
    assert client.put("/tasks/1", json={"Descript": "reopen"}).json()["TaskStatus"] == "Viewed"
    assert client.put("/tasks/77", json={"TaskStatus": "Done"}).status_code == 404
    assert client.put("/tasks/1", json={"TaskStatus": "Closed"}).status_code == 400
    assert client.get("/tasks/1").json()["Descript"] == "reopen"
    listed = client.get("/tasks", params={"ObjectType": "Appointment", "KeyNum": 181}).json()
    assert [t["TaskNum"] for t in listed] == [1]


def test_mark_task_done(fake: FakeOpenDental, client: httpx.Client) -> None:
    tl = fake.add_tasklist("Coordinator")
    for text in ("a", "b"):
        client.post("/tasks", json={"TaskListNum": tl, "Descript": text, "UserNum": 1})
    fake.advance(minutes=30)
    fake.mark_task_done(2)
    assert [t["TaskNum"] for t in client.get("/tasks", params={"TaskStatus": "Done"}).json()] == [2]
    assert [t["TaskNum"] for t in client.get("/tasks", params={"TaskStatus": "New"}).json()] == [1]
    assert fake.tasks[2]["DateTimeFinished"] == "2026-03-02 08:30:00"


def test_tasks_default_to_the_last_14_days(fake: FakeOpenDental, client: httpx.Client) -> None:
    tl = fake.add_tasklist("Coordinator")
    client.post("/tasks", json={"TaskListNum": tl, "Descript": "old", "UserNum": 1})
    fake.advance(days=10)
    client.post("/tasks", json={"TaskListNum": tl, "Descript": "new", "UserNum": 1})
    assert [t["Descript"] for t in client.get("/tasks").json()] == ["old", "new"]
    fake.advance(days=5)  # "old" is now 15 days old
    assert [t["Descript"] for t in client.get("/tasks").json()] == ["new"]
    since = {"DateTimeOriginal": "2026-03-01 00:00:00"}
    assert [t["Descript"] for t in client.get("/tasks", params=since).json()] == ["old", "new"]
    assert client.get("/tasks", params={"KeyNum": 3}).status_code == 400  # KeyNum needs ObjectType


def test_commlogs(fake: FakeOpenDental, client: httpx.Client) -> None:
    r = client.post("/commlogs", json={"PatNum": 3, "Note": "Insurance inactive: call patient", "CommType": "0"})
    assert r.status_code == 201
    log = r.json()
    assert log["CommlogNum"] == 1 and log["Mode_"] == "Phone" and log["SentOrReceived"] == "Sent"
    assert log["CommDateTime"] == "2026-03-02 08:00:00"
    assert client.post("/commlogs", json={"PatNum": 3}).status_code == 400
    assert client.post("/commlogs", json={"Note": "x"}).status_code == 400
    assert client.post("/commlogs", json={"PatNum": 99999, "Note": "x"}).status_code == 404
    assert [c["CommlogNum"] for c in client.get("/commlogs", params={"PatNum": 3}).json()] == [1]
    assert client.get("/commlogs", params={"PatNum": 4}).json() == []


# ---------------------------------------------------------------- recording
def test_requests_are_recorded_and_counted(fake: FakeOpenDental, client: httpx.Client) -> None:
    client.get("/appointments", params={"Offset": 100, "DateTStamp": "2026-01-01 00:00:00"})
    client.get("/appointments")
    client.get("/patients/Simple")
    fake.add_tasklist("Coordinator")
    client.post("/tasks", json={"TaskListNum": 1, "Descript": "x", "UserNum": 1})
    assert fake.count() == 4
    assert fake.count("GET") == 3 and fake.count("get", "/appointments") == 2
    assert fake.count(path_prefix="/patients") == 1 and fake.count("POST", "/tasks") == 1
    first = fake.requests[0]
    assert (first.method, first.path, first.status) == ("GET", "/appointments", 200)
    assert first.params == {"Offset": "100", "DateTStamp": "2026-01-01 00:00:00"} and first.json is None
    assert fake.requests[-1].json == {"TaskListNum": 1, "Descript": "x", "UserNum": 1}
    assert fake.requests[-1].status == 201
