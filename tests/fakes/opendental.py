"""A fake Open Dental REST API (https://api.opendental.com/api/v1) for tests, served by respx.

It holds the practice's tables as raw rows (the sample generator's raw CSV export: ids and enum
numbers as strings) and answers like the real API: ODFHIR auth, Limit/Offset paging, incremental
filters, API-shaped JSON (enum text, "true"/"false", yyyy-MM-dd dates), PUT /queries/ShortQuery,
tasks and commlogs. It also plays the office ("touch", "insert", "mark_task_done") and the
network (seeded transient faults).

    fake = FakeOpenDental.from_export(folder)
    with fake.mock():
        httpx.get(f"{fake.base_url}/appointments", headers=fake.headers())

Behaviour notes, with their source (opendental.com/site/api*.html and OpenDentBusiness):
- Incremental filters (DateTStamp, SecDateTEdit, DateTimeOriginal) keep rows stamped ON OR AFTER the
  value. The docs say "altered after" for some endpoints, but the source of appointments,
  patients/Simple and providers compares with >=, so a row stamped exactly at the stored
  serverDateTime comes back again.
- Order: appointments by AptDateTime then AptNum, documents by DateCreated, definitions by
  Category/ItemOrder (as the source and docs show); everything else by primary key.
- GET /tasks without DateTimeOriginal returns tasks whose DateTimeOriginal is within the last 14 days.
- PatNum is required on /documents and /sheets. The docs list it as optional on /patplans and
  /refattaches; pass patnum_required= to change that.
- GET /documents lists documents and mounts (DocNum 0, own MountNum); images inside a mount are left out.
- Deletions as Open Dental makes them: delete() drops the row (a deleted appointment leaves a
  histappointment row, HistApptAction 4 Deleted, for GET /histappointments); a sheet is deleted with
  change_without_stamp(..., IsDeleted="1"); a patient by PatStatus 4, which /patients/Simple never lists
  (GET /patients/{PatNum} does).
- ShortQuery: explicit columns, WHERE ... AND ..., ORDER BY, and id buckets (FLOOR(pk/N), COUNT, SUM,
  GROUP BY). The document and patient tables carry synthetic RawBase64/Thumbnail/SSN columns;
  strict_queries=True refuses SELECT * on them and any row query without ORDER BY.

Row shapes and ShortQuery live in opendental_shapes.py; tasks and commlogs in opendental_office.py;
Open Dental's enums, primary keys and stamp columns in pms_bridge.sample.opendental_enums (shared with
the sample practice).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import respx

from pms_bridge.sample.opendental_enums import (
    APT_STATUS,
    CLAIM_STATUS,
    HIST_ACTION,
    PAT_STATUS,
    PRIMARY_KEYS,
    PROC_STATUS,
    STAMP_COLUMN,
    VERIFY_TYPE,
)

from .opendental_office import NEW_ENOUGH, OfficeDesk
from .opendental_shapes import (
    NEVER_READ,
    QueryError,
    Reply,
    bad,
    day_after,
    parse_dt,
    parse_param_date,
    parse_param_datetime,
    run_short_query,
    shape,
    to_int,
)

ECONNECTOR_MESSAGE = "The office's eConnector is not running. Please contact the office to start their eConnector."
RANDOM_FAULTS = ("500", "502", "503", "504", "timeout", "reset", "econnector")
FAULT_KINDS = (*RANDOM_FAULTS, "429")


@dataclass
class Recorded:
    method: str
    path: str  # without the base URL's path, e.g. "/appointments"
    params: dict[str, str]
    json: Any  # the parsed request body (None without one)
    status: int | None  # None when the request failed without a response (timeout, reset)


# Tables of every Open Dental version the API serves (eform, 24.3+, is not one of them).
EVERY_OFFICE_HAS = ("claimproc",)


class FakeOpenDental(OfficeDesk):
    def __init__(
        self,
        tables: dict[str, list[dict[str, str]]],
        *,
        developer_key: str = "dev-key",
        customer_key: str = "cust-key",
        base_url: str = "https://api.opendental.com/api/v1",
        page_size: int = 100,
        now: datetime | None = None,
        patnum_required: tuple[str, ...] = ("/documents", "/sheets", "/eforms"),
        version: tuple[int, int, int] = NEW_ENOUGH,  # the office's Open Dental version (see VERSION_GATES)
        strict_queries: bool = False,  # refuse SELECT * on document/patient and ShortQuery rows without ORDER BY
    ) -> None:
        self.developer_key, self.customer_key = developer_key, customer_key
        self.base_url = base_url.rstrip("/")
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.page_size = page_size
        self.patnum_required = patnum_required
        self.version = version
        self.strict_queries = strict_queries
        self.tables: dict[str, dict[int, dict[str, str]]] = {}
        for name, rows in tables.items():
            pk = PRIMARY_KEYS.get(name) or (next(iter(rows[0])) if rows else "")
            self.tables[name] = {int(row[pk]): dict(row) for row in rows}
        for name in EVERY_OFFICE_HAS:  # an export may leave out a table it has no rows for; the database has it
            self.tables.setdefault(name, {})
        for name, columns in NEVER_READ.items():  # synthetic image bodies and SSNs no query may ask for
            for row in self.tables.get(name, {}).values():
                for column in columns:
                    row.setdefault(column, "SYNTHETIC-NEVER-READ")
        self.now = (now or self._latest_stamp() or datetime(2026, 3, 2, 8, 0)).replace(microsecond=0)
        self.requests: list[Recorded] = []
        OfficeDesk.__init__(self)  # tasklists, tasks, commlogs
        self._fault_rate, self._rng = 0.0, random.Random(0)
        self._fail_queue: list[str] = []
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]] = [
            (method, re.compile(pattern + r"/?"), handler) for method, pattern, handler in [
                ("GET", "/appointments", self._get_appointments),
                ("GET", "/patients/Simple", self._get_patients_simple),
                ("GET", r"/patients/(\d+)", self._get_patient),
                ("GET", "/histappointments", self._get_histappointments),
                ("GET", "/providers", self._get_providers),
                ("GET", "/procedurelogs", self._get_procedurelogs),
                ("GET", "/procedurecodes", self._get_procedurecodes),
                ("GET", "/definitions", self._get_definitions),
                ("GET", "/appointmenttypes", lambda q, _: self._plain(q, "appointmenttype")),
                ("GET", "/carriers", lambda q, _: self._plain(q, "carrier")),
                ("GET", "/insplans", lambda q, _: self._plain(q, "insplan", eq=("CarrierNum",))),
                ("GET", "/inssubs", lambda q, _: self._plain(q, "inssub", eq=("PlanNum", "Subscriber"),
                                                              since="SecDateTEdit")),
                ("GET", "/patplans", lambda q, _: self._plain(q, "patplan", eq=("PatNum", "InsSubNum"))),
                ("GET", "/insverifies", self._get_insverifies),
                ("GET", "/referrals", self._get_referrals),
                ("GET", "/refattaches", lambda q, _: self._plain(q, "refattach", eq=("PatNum", "ReferralNum"),
                                                                 since="DateTStamp")),
                ("GET", "/documents", self._get_documents),
                ("GET", r"/documents/(\d+)", self._get_document),
                ("GET", "/sheets", self._get_sheets),
                ("GET", "/eforms", self._get_eforms),
                ("GET", "/clinics", lambda q, _: self._plain(q, "clinic")),
                ("GET", "/preferences", self._get_preferences),
                ("GET", "/claims", self._get_claims),
                ("GET", "/claimprocs", lambda q, _: self._plain(q, "claimproc", eq=("PatNum", "ClaimNum", "ProcNum"))),
                ("PUT", "/queries/ShortQuery", self._short_query),
                ("GET", "/tasklists", self._get_tasklists),
                ("GET", "/tasks", self._get_tasks),
                ("GET", r"/tasks/(\d+)", self._get_task),
                ("POST", "/tasks", self._post_task),
                ("PUT", r"/tasks/(\d+)", self._put_task),
                ("GET", "/commlogs", self._get_commlogs),
                ("POST", "/commlogs", self._post_commlog),
            ]
        ]

    @classmethod
    def from_export(cls, folder: Path, **kw: Any) -> FakeOpenDental:
        """Load every <table>.csv in ``folder`` (the sample generator's raw export)."""
        tables = {}
        for path in sorted(Path(folder).glob("*.csv")):
            with open(path, encoding="utf-8", newline="") as handle:
                tables[path.stem] = list(csv.DictReader(handle))
        return cls(tables, **kw)

    # ------------------------------------------------------------ harness
    def headers(self) -> dict[str, str]:
        """The headers a correct client sends."""
        return {"Authorization": f"ODFHIR {self.developer_key}/{self.customer_key}",
                "Content-Type": "application/json"}

    def mock(self) -> respx.MockRouter:
        router = respx.mock(base_url=self.base_url, assert_all_called=False)
        router.route().mock(side_effect=self._handle)
        return router

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if (method is None or r.method == method.upper())
                   and (path_prefix is None or r.path.startswith(path_prefix)))

    def set_now(self, dt: datetime) -> None:
        self.now = dt.replace(microsecond=0)

    def advance(self, **timedelta_kwargs: float) -> None:
        self.set_now(self.now + timedelta(**timedelta_kwargs))

    def set_fault_rate(self, rate: float, seed: int = 0) -> None:
        self._fault_rate, self._rng = rate, random.Random(seed)

    def fail_next(self, n: int, kind: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} is not one of {FAULT_KINDS}")
        self._fail_queue.extend([kind] * n)

    # ------------------------------------------------------------ changes made in Open Dental
    def touch(self, table: str, key: str, **changes: str) -> None:
        row = self.tables[table][int(key)]  # KeyError for an unknown row
        row.update(changes)
        self._stamp(table, row)

    def insert(self, table: str, row: dict[str, str]) -> None:
        rows = self.tables.setdefault(table, {})
        pk = PRIMARY_KEYS.get(table) or next(iter(row))
        new = dict(row)
        if not new.get(pk):
            new[pk] = str(max(rows, default=0) + 1)
        if int(new[pk]) in rows:
            raise ValueError(f"{table} {new[pk]} already exists")
        self._stamp(table, new)
        rows[int(new[pk])] = new

    def delete(self, table: str, key: str) -> None:
        """Open Dental deletes the row; a deleted appointment leaves a history copy (HistApptAction 4, Deleted)."""
        row = self.tables[table].pop(int(key))
        if table == "appointment":
            hist = {**row, "HistApptNum": "", "HistUserNum": "1", "HistApptAction": "4",
                    "HistDateTStamp": self._now()}
            self.insert("histappointment", hist)

    def change_without_stamp(self, table: str, key: str, **changes: str) -> None:
        """A change Open Dental makes without touching the row's stamp (deleting a sheet sets IsDeleted=1 only)."""
        self.tables[table][int(key)].update(changes)

    def _stamp(self, table: str, row: dict[str, str]) -> None:
        if table in STAMP_COLUMN:
            row[STAMP_COLUMN[table]] = self._now()

    def _latest_stamp(self) -> datetime | None:
        stamps = [parse_dt(row.get(col)) for name, col in STAMP_COLUMN.items()
                  for row in self.tables.get(name, {}).values() if row.get(col)]
        return max((s for s in stamps if s), default=None)

    # ------------------------------------------------------------ lookups for derived fields
    def def_name(self, def_num: str) -> str:
        row = self.tables.get("definition", {}).get(to_int(def_num))
        return row.get("ItemName", "") if row else ""

    def prov_abbr(self, prov_num: str) -> str:
        row = self.tables.get("provider", {}).get(to_int(prov_num))
        return row.get("Abbr", "") if row else ""

    def code_field(self, code_num: str, column: str) -> str:
        row = self.tables.get("procedurecode", {}).get(to_int(code_num))
        return row.get(column, "") if row else ""

    def referral_name(self, referral_num: str) -> str:
        r = self.tables.get("referral", {}).get(to_int(referral_num))
        if not r:
            return ""
        if r.get("NotPerson") == "1":
            return r.get("LName", "")
        name = " ".join(p for p in (r.get("FName", ""), r.get("LName", "")) if p)
        return f"{name}, {r['Title']}" if r.get("Title") else name

    # ------------------------------------------------------------ request handling
    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path[len(self._base_path):] or "/"
        params = dict(request.url.params)
        body: Any = None
        body_ok = True
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body, body_ok = request.content.decode("utf-8", "replace"), False
        record = Recorded(request.method, path, params, body, None)
        self.requests.append(record)
        kind = self._fail_queue.pop(0) if self._fail_queue else (
            self._rng.choice(RANDOM_FAULTS) if self._fault_rate and self._rng.random() < self._fault_rate else None)
        try:
            if kind is not None:
                self._raise_fault(kind, request)
            if request.headers.get("Authorization") != f"ODFHIR {self.developer_key}/{self.customer_key}":
                raise Reply(401, "Invalid developer key or customer key.", text=True)
            if request.content and not request.headers.get("Content-Type", "").startswith("application/json"):
                raise bad("Content-Type must be application/json.")
            if not body_ok:
                raise bad("The request body is not valid JSON.")
            status, payload = self._route(request.method, path, params, body)
            response = httpx.Response(status, json=payload)
        except Reply as reply:
            response = (httpx.Response(reply.status, text=reply.body) if reply.text
                        else httpx.Response(reply.status, json=reply.body))
        record.status = response.status_code
        return response

    def _raise_fault(self, kind: str, request: httpx.Request) -> None:
        if kind == "timeout":
            raise httpx.ReadTimeout("fake Open Dental: read timed out", request=request)
        if kind == "reset":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if kind == "econnector":
            raise Reply(400, ECONNECTOR_MESSAGE)
        texts = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable",
                 "504": "The request did not complete within the 60 second time limit.", "429": "Too Many Requests"}
        raise Reply(int(kind), texts[kind], text=True)

    def _route(self, method: str, path: str, q: dict[str, str], body: Any) -> tuple[int, Any]:
        for route_method, pattern, handler in self._routes:
            m = pattern.fullmatch(path)
            if m and route_method == method:
                self._refuse_if_too_old(method, path, q, body)
                if path.rstrip("/") in self.patnum_required and not q.get("PatNum"):
                    raise bad("PatNum is required.")
                return handler(q, body, *m.groups())
        raise Reply(404, f"Resource not found: {method} {path}")

    # ------------------------------------------------------------ list helpers
    def _rows(self, table: str) -> list[dict[str, str]]:
        rows = self.tables.get(table, {})
        return [rows[k] for k in sorted(rows)]

    def _int(self, q: dict[str, str], name: str) -> int | None:
        if q.get(name) in (None, ""):
            return None
        try:
            return int(q[name])
        except ValueError:
            raise bad(f"{name} must be a number.") from None

    def _eq(self, rows: list[dict[str, str]], q: dict[str, str], param: str) -> list[dict[str, str]]:
        want = self._int(q, param)
        return rows if want is None else [r for r in rows if to_int(r.get(param)) == want]

    def _since(self, rows: list[dict[str, str]], q: dict[str, str], param: str, column: str | None = None
               ) -> list[dict[str, str]]:
        if not q.get(param):
            return rows
        try:
            since = parse_param_datetime(q[param])
        except ValueError:
            raise bad(f"{param} format must be yyyy-MM-dd HH:mm:ss") from None
        return [r for r in rows if (parse_dt(r.get(column or param)) or datetime.min) >= since]

    def _enum(self, rows: list[dict[str, str]], q: dict[str, str], param: str, names: dict[int, str],
              column: str | None = None) -> list[dict[str, str]]:
        if not q.get(param):
            return rows
        numbers = [num for num, name in names.items() if name == q[param]]
        if not numbers:
            raise bad(f"{param} is invalid.")
        return [r for r in rows if to_int(r.get(column or param)) == numbers[0]]

    def _day(self, q: dict[str, str], *names: str) -> date | None:
        value = next((q[name] for name in names if q.get(name)), None)
        try:
            return parse_param_date(value) if value else None
        except ValueError:
            raise bad("Dates must be in yyyy-MM-dd format.") from None

    def _page(self, q: dict[str, str], items: list[Any], cap: int | None = None) -> list[Any]:
        cap = cap or self.page_size
        limit, offset = self._int(q, "Limit"), self._int(q, "Offset") or 0
        limit = cap if limit is None or limit <= 0 else min(limit, cap)
        return items[max(offset, 0):max(offset, 0) + limit]

    def _send(self, q: dict[str, str], kind: str, rows: list[dict[str, str]], server: str | None = None
              ) -> tuple[int, Any]:
        return 200, [shape(kind, r, self, self._now() if server is None else server) for r in self._page(q, rows)]

    def _plain(self, q: dict[str, str], table: str, *, eq: tuple[str, ...] = (), since: str | None = None
               ) -> tuple[int, Any]:
        rows = self._rows(table)
        for param in eq:
            rows = self._eq(rows, q, param)
        if since:
            rows = self._since(rows, q, since)
        return self._send(q, table, rows)

    def _patient_exists(self, q: dict[str, str]) -> None:
        pat = self._int(q, "PatNum")
        if pat is not None and pat not in self.tables.get("patient", {}):
            raise Reply(404, "Patient not found.")

    # ------------------------------------------------------------ table endpoints
    def _get_appointments(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._since(self._rows("appointment"), q, "DateTStamp")
        for param in ("PatNum", "Op", "AppointmentTypeNum"):
            rows = self._eq(rows, q, param)
        rows = self._enum(rows, q, "AptStatus", APT_STATUS)
        start, end = self._day(q, "date", "dateStart"), self._day(q, "date", "dateEnd")
        when = [(parse_dt(r.get("AptDateTime")) or datetime.min, r) for r in rows]
        if start:
            when = [(t, r) for t, r in when if t >= datetime.combine(start, datetime.min.time())]
        if end:
            when = [(t, r) for t, r in when if t < day_after(end)]  # both dates inclusive
        when.sort(key=lambda tr: (tr[0], to_int(tr[1].get("AptNum"))))
        return self._send(q, "appointment", [r for _, r in when])

    def _get_patient(self, q: dict[str, str], _: Any, pat_num: str) -> tuple[int, Any]:
        row = self.tables.get("patient", {}).get(int(pat_num))
        if row is None:
            raise Reply(404, "Patient not found.")
        return 200, shape("patient_single", row, self, self._now())

    def _get_histappointments(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._rows("histappointment")
        for param in ("AptNum", "PatNum"):
            rows = self._eq(rows, q, param)
        rows = self._enum(rows, q, "HistApptAction", HIST_ACTION)
        rows = self._enum(rows, q, "AptStatus", APT_STATUS)
        start, end = self._day(q, "date", "dateStart"), self._day(q, "date", "dateEnd")  # the history row's day
        when = [((parse_dt(r.get("HistDateTStamp")) or datetime.min).date(), r) for r in rows]
        rows = [r for d, r in when if (start is None or d >= start) and (end is None or d <= end)]
        return self._send(q, "histappointment", rows, server="")

    def _get_patients_simple(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        # Patients.cs: the Simple list never holds PatStatus Deleted (4), whatever the filters.
        rows = [r for r in self._rows("patient") if to_int(r.get("PatStatus")) != 4]
        rows = self._since(rows, q, "DateTStamp")
        rows = self._enum(rows, q, "PatStatus", PAT_STATUS)
        rows = self._eq(rows, q, "PriProv")
        for param in ("LName", "FName"):  # partial, case-insensitive
            if q.get(param):
                rows = [r for r in rows if q[param].lower() in r.get(param, "").lower()]
        if q.get("Birthdate"):
            rows = [r for r in rows if r.get("Birthdate", "")[:10] == q["Birthdate"]]
        return self._send(q, "patient", rows)

    def _get_providers(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._rows("provider")
        if q.get("ClinicNum"):  # a different query: non-hidden providers, no serverDateTime
            rows = [r for r in rows if r.get("IsHidden") != "1"]
            return self._send(q, "provider", rows, server="")
        return self._send(q, "provider", self._since(rows, q, "DateTStamp"))

    def _get_procedurelogs(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._since(self._rows("procedurelog"), q, "DateTStamp")
        for param in ("PatNum", "AptNum", "PlannedAptNum", "CodeNum"):
            rows = self._eq(rows, q, param)
        return self._send(q, "procedurelog", self._enum(rows, q, "ProcStatus", PROC_STATUS))

    def _get_procedurecodes(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        return self._send(q, "procedurecode", self._since(self._rows("procedurecode"), q, "DateTStamp"))

    def _get_definitions(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._eq(self._rows("definition"), q, "Category")
        if q.get("includeHidden", "false").lower() != "true":
            rows = [r for r in rows if r.get("IsHidden") != "1"]
        rows.sort(key=lambda r: (to_int(r.get("Category")), to_int(r.get("ItemOrder")), to_int(r.get("DefNum"))))
        return self._send(q, "definition", rows)

    def _get_insverifies(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        if q.get("FKey") and not q.get("VerifyType"):
            raise bad("VerifyType is required when FKey is specified.")
        rows = self._enum(self._rows("insverify"), q, "VerifyType", VERIFY_TYPE)
        rows = self._since(self._eq(rows, q, "FKey"), q, "SecDateTEdit")
        return self._send(q, "insverify", rows)

    def _get_referrals(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._rows("referral")
        for param in ("NotPerson", "IsDoctor"):
            if q.get(param):
                rows = [r for r in rows if (r.get(param) == "1") == (q[param].lower() == "true")]
        return self._send(q, "referral", rows)

    def _get_preferences(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        rows = self._rows("preference")
        if q.get("PrefName"):  # one preference by name, as in the docs' example
            rows = [r for r in rows if r.get("PrefName") == q["PrefName"]]
        return self._send(q, "preference", rows)

    def _get_documents(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        """Documents and mounts, by DateCreated; images inside a mount (MountItemNum set) are not listed."""
        self._patient_exists(q)
        docs = [("document", r) for r in self._eq(self._rows("document"), q, "PatNum")
                if to_int(r.get("MountItemNum")) == 0]
        mounts = [("mount", r) for r in self._eq(self._rows("mount"), q, "PatNum")]
        items = sorted(docs + mounts, key=lambda kr: (parse_dt(kr[1].get("DateCreated")) or datetime.min,
                                                      kr[0], to_int(kr[1].get("DocNum") or kr[1].get("MountNum"))))
        return 200, [shape(kind, r, self, self._now()) for kind, r in self._page(q, items)]

    def _get_document(self, q: dict[str, str], _: Any, doc_num: str) -> tuple[int, Any]:
        row = self.tables.get("document", {}).get(int(doc_num))
        if row is None:
            raise Reply(404, "Document not found.")
        return 200, shape("document_single", row, self, self._now())

    def _get_sheets(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        self._patient_exists(q)
        rows = [r for r in self._eq(self._rows("sheet"), q, "PatNum") if r.get("IsDeleted") != "1"]
        return self._send(q, "sheet", rows)

    def _get_eforms(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        self._patient_exists(q)
        return self._send(q, "eform", self._eq(self._rows("eform"), q, "PatNum"))

    def _get_claims(self, q: dict[str, str], _: Any) -> tuple[int, Any]:
        self._patient_exists(q)
        if q.get("ClaimStatus") and q["ClaimStatus"] not in CLAIM_STATUS:
            raise bad("ClaimStatus is invalid.")
        rows = self._since(self._eq(self._rows("claim"), q, "PatNum"), q, "SecDateTEdit")
        if q.get("ClaimStatus"):
            rows = [r for r in rows if r.get("ClaimStatus") == q["ClaimStatus"]]
        return self._send(q, "claim", rows)

    def _short_query(self, q: dict[str, str], body: Any) -> tuple[int, Any]:
        sql = body.get("SqlCommand") if isinstance(body, dict) else None
        if not isinstance(sql, str) or not sql.strip():
            raise bad("SqlCommand is required.")
        try:
            rows = run_short_query(sql, self.tables, self.now, strict=self.strict_queries)
        except QueryError as exc:
            raise Reply(exc.status, exc.message) from None
        return 200, self._page(q, rows, cap=100)  # ShortQuery: at most 100 rows, whatever the Limit
