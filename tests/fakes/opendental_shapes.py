"""Row shapes for the fake Open Dental API: raw table rows (DB-shaped strings, as in the
sample's raw CSV export) turned into the JSON the API returns, and into the rows of
PUT /queries/ShortQuery.

Field names, order and value shapes follow the example responses on opendental.com/site/api*.html;
enum numbers and names come from pms_bridge.sample.opendental_enums. Columns the sample does not export are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

# Open Dental's enums: one source, shared with the sample practice.
from pms_bridge.sample.opendental_enums import (
    APT_STATUS,
    CLAIMPROC_STATUS,
    DEF_CAT,
    EFORM_STATUS,
    EFORM_TYPE,
    GENDER,
    HIST_ACTION,
    IMG_TYPE,
    PAT_STATUS,
    PROC_STATUS,
    PROV_STATUS,
    REF_TO_STATUS,
    REF_TYPE,
    RELAT,
    SHEET_TYPE,
    VERIFY_TYPE,
)

Row = Mapping[str, str]

NO_DATE = "0001-01-01"
NO_DATETIME = "0001-01-01 00:00:00"
API_DT = "%Y-%m-%d %H:%M:%S"

# Columns the fake's document and patient tables always carry (synthetic values), so a test can check
# that the query route never asks for image bodies or SSNs.
NEVER_READ = {"document": ("RawBase64", "Thumbnail"), "patient": ("SSN",)}


class Lookups(Protocol):
    """What a shape needs from the rest of the database (derived lowercase fields)."""

    def def_name(self, def_num: str) -> str: ...
    def prov_abbr(self, prov_num: str) -> str: ...
    def code_field(self, code_num: str, column: str) -> str: ...
    def referral_name(self, referral_num: str) -> str: ...


# ---------------------------------------------------------------- value converters
def to_int(v: str | None) -> int:
    return int(float(v)) if v not in (None, "") else 0


def to_bool(v: str | None) -> str:
    return "true" if (v or "").strip().lower() in ("1", "true") else "false"


def parse_dt(v: str | None) -> datetime | None:
    """A raw DB date or datetime ('yyyy-MM-dd[ HH:mm:ss]'); None for blank."""
    if not v:
        return None
    v = v.strip().replace("T", " ")
    for fmt in (API_DT, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(v, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date/datetime: {v!r}")


def fmt_datetime(value: datetime, sep: str = " ") -> str:
    """yyyy-MM-dd HH:mm:ss with a four-digit year (strftime drops the zeros of year 1)."""
    return f"{value.year:04d}-{value:%m-%d}{sep}{value:%H:%M:%S}"


def to_date(v: str | None) -> str:
    d = parse_dt(v)
    return f"{d.year:04d}-{d:%m-%d}" if d else NO_DATE


def to_datetime(v: str | None) -> str:
    d = parse_dt(v)
    return fmt_datetime(d) if d else NO_DATETIME


Conv = Callable[[Row, Lookups], Any]


def n(col: str) -> Conv:
    return lambda r, _: to_int(r.get(col))


def ns(col: str) -> Conv:  # a foreign key sent as a string (as the docs' example shows it)
    return lambda r, _: str(to_int(r.get(col)))


def s(col: str) -> Conv:
    return lambda r, _: r.get(col) or ""


def b(col: str) -> Conv:
    return lambda r, _: to_bool(r.get(col))


def d(col: str) -> Conv:
    return lambda r, _: to_date(r.get(col))


def dt(col: str) -> Conv:
    return lambda r, _: to_datetime(r.get(col))


def money(col: str) -> Conv:
    return lambda r, _: float(r.get(col) or 0)


def money_str(col: str) -> Conv:  # procedurelog.ProcFee is a string in the docs: "130.00"
    return lambda r, _: f"{float(r.get(col) or 0):.2f}"


def enum(col: str, names: Mapping[int, str]) -> Conv:
    return lambda r, _: names.get(to_int(r.get(col)), str(to_int(r.get(col))))


SERVER = "serverDateTime"  # placeholder: filled with the server clock when the row is sent

Shape = list[tuple[str, Conv | None]]

SHAPES: dict[str, Shape] = {
    # GET /appointments (apiappointments.html)
    "appointment": [
        (SERVER, None), ("AptNum", n("AptNum")), ("PatNum", n("PatNum")),
        ("AptStatus", enum("AptStatus", APT_STATUS)), ("Pattern", s("Pattern")), ("Confirmed", n("Confirmed")),
        ("confirmed", lambda r, lk: lk.def_name(r.get("Confirmed", ""))), ("Op", n("Op")),
        ("ProvNum", n("ProvNum")), ("provAbbr", lambda r, lk: lk.prov_abbr(r.get("ProvNum", ""))),
        ("ProvHyg", n("ProvHyg")), ("AptDateTime", dt("AptDateTime")), ("IsNewPatient", b("IsNewPatient")),
        ("IsHygiene", b("IsHygiene")), ("DateTStamp", dt("DateTStamp")),
        ("AppointmentTypeNum", n("AppointmentTypeNum")), ("SecDateTEntry", dt("SecDateTEntry")),
        ("ClinicNum", n("ClinicNum")),
    ],
    # GET /patients/Simple (apipatients.html)
    "patient": [
        (SERVER, None), ("PatNum", n("PatNum")), ("LName", s("LName")), ("FName", s("FName")),
        ("Preferred", s("Preferred")), ("PatStatus", enum("PatStatus", PAT_STATUS)),
        ("Gender", enum("Gender", GENDER)), ("Birthdate", d("Birthdate")), ("WirelessPhone", s("WirelessPhone")),
        ("Email", s("Email")), ("PriProv", n("PriProv")),
        ("priProvAbbr", lambda r, lk: lk.prov_abbr(r.get("PriProv", ""))),
        ("DateFirstVisit", d("DateFirstVisit")), ("DateTStamp", dt("DateTStamp")),
        ("SecDateEntry", d("SecDateEntry")), ("ClinicNum", n("ClinicNum")),
    ],
    # GET /providers (apiproviders.html): Specialty is a DefNum (category 35), no text field
    "provider": [
        ("ProvNum", n("ProvNum")), ("Abbr", s("Abbr")), ("LName", s("LName")), ("FName", s("FName")),
        ("Specialty", n("Specialty")), ("IsSecondary", b("IsSecondary")), ("IsHidden", b("IsHidden")),
        ("DateTStamp", dt("DateTStamp")), ("ProvStatus", enum("ProvStatus", PROV_STATUS)), (SERVER, None),
    ],
    # GET /procedurelogs (apiprocedurelogs.html)
    "procedurelog": [
        ("ProcNum", n("ProcNum")), ("PatNum", n("PatNum")), ("AptNum", n("AptNum")), ("ProcDate", d("ProcDate")),
        ("ProcFee", money_str("ProcFee")), ("Surf", s("Surf")), ("ToothNum", s("ToothNum")),
        ("ProcStatus", enum("ProcStatus", PROC_STATUS)), ("ProvNum", n("ProvNum")),
        ("provAbbr", lambda r, lk: lk.prov_abbr(r.get("ProvNum", ""))), ("PlannedAptNum", n("PlannedAptNum")),
        ("CodeNum", n("CodeNum")), ("procCode", lambda r, lk: lk.code_field(r.get("CodeNum", ""), "ProcCode")),
        ("descript", lambda r, lk: lk.code_field(r.get("CodeNum", ""), "Descript")), ("DateTP", d("DateTP")),
        ("DateTStamp", dt("DateTStamp")), (SERVER, None),
    ],
    # GET /procedurecodes (apiprocedurecodes.html)
    "procedurecode": [
        ("CodeNum", n("CodeNum")), ("ProcCode", s("ProcCode")), ("Descript", s("Descript")),
        ("AbbrDesc", s("AbbrDesc")), ("ProcTime", s("ProcTime")), ("IsHygiene", b("IsHygiene")),
        ("DateTStamp", dt("DateTStamp")), ("IsRadiology", b("IsRadiology")),
    ],
    # GET /definitions (apidefinitions.html): lowercase category and isHidden
    "definition": [
        ("DefNum", n("DefNum")), ("ItemName", s("ItemName")), ("ItemValue", s("ItemValue")),
        ("Category", n("Category")),
        ("category", lambda r, _: DEF_CAT.get(to_int(r.get("Category")), str(to_int(r.get("Category"))))),
        ("isHidden", b("IsHidden")),
    ],
    "appointmenttype": [
        ("AppointmentTypeNum", n("AppointmentTypeNum")), ("AppointmentTypeName", s("AppointmentTypeName")),
        ("IsHidden", b("IsHidden")),
    ],
    # GET /carriers (apicarriers.html): no SecDateTEdit in the API
    "carrier": [("CarrierNum", n("CarrierNum")), ("CarrierName", s("CarrierName")), ("ElectID", s("ElectID"))],
    "insplan": [
        ("PlanNum", n("PlanNum")), ("GroupName", s("GroupName")), ("GroupNum", s("GroupNum")),
        ("CarrierNum", n("CarrierNum")), ("IsHidden", b("IsHidden")), ("SecDateTEdit", dt("SecDateTEdit")),
    ],
    "inssub": [
        ("InsSubNum", n("InsSubNum")), ("PlanNum", n("PlanNum")), ("Subscriber", n("Subscriber")),
        ("DateEffective", d("DateEffective")), ("DateTerm", d("DateTerm")), ("SubscriberID", s("SubscriberID")),
        ("SecDateTEdit", dt("SecDateTEdit")),
    ],
    "patplan": [
        ("PatPlanNum", n("PatPlanNum")), ("PatNum", n("PatNum")), ("Ordinal", n("Ordinal")),
        ("IsPending", b("IsPending")), ("Relationship", enum("Relationship", RELAT)),
        ("InsSubNum", n("InsSubNum")), ("SecDateTEdit", dt("SecDateTEdit")),
    ],
    "insverify": [
        ("InsVerifyNum", n("InsVerifyNum")), ("DateLastVerified", d("DateLastVerified")),
        ("VerifyType", enum("VerifyType", VERIFY_TYPE)), ("FKey", n("FKey")), ("DefNum", n("DefNum")),
        ("SecDateTEdit", dt("SecDateTEdit")),
    ],
    "referral": [
        ("ReferralNum", n("ReferralNum")), ("LName", s("LName")), ("FName", s("FName")),
        ("Specialty", n("Specialty")), ("specialty", lambda r, lk: lk.def_name(r.get("Specialty", ""))),
        ("NotPerson", b("NotPerson")), ("Title", s("Title")), ("IsDoctor", b("IsDoctor")),
        ("DateTStamp", dt("DateTStamp")),
    ],
    # GET /refattaches (apirefattaches.html): the RefType column is called ReferralType
    "refattach": [
        ("RefAttachNum", n("RefAttachNum")), ("ReferralNum", n("ReferralNum")),
        ("referralName", lambda r, lk: lk.referral_name(r.get("ReferralNum", ""))), ("PatNum", n("PatNum")),
        ("RefDate", d("RefDate")), ("ReferralType", enum("RefType", REF_TYPE)),
        ("RefToStatus", enum("RefToStatus", REF_TO_STATUS)), ("ProcNum", n("ProcNum")),
        ("DateProcComplete", d("DateProcComplete")), ("ProvNum", n("ProvNum")), ("DateTStamp", dt("DateTStamp")),
    ],
    # GET /documents?PatNum= (apidocuments.html): no ImgType; PatNum as a string, as in the docs' example
    "document": [
        ("DocNum", n("DocNum")), ("MountNum", lambda r, _: 0), ("Description", s("Description")),
        ("PatNum", ns("PatNum")), ("DateCreated", dt("DateCreated")),
        ("docCategory", lambda r, lk: lk.def_name(r.get("DocCategory", ""))), ("DocCategory", n("DocCategory")),
        ("ToothNumbers", s("ToothNumbers")), ("DateTStamp", dt("DateTStamp")), (SERVER, None),
    ],
    # A mount in GET /documents?PatNum= (apidocuments.html): DocNum 0, its own MountNum, no ToothNumbers and an
    # empty DateTStamp; the images inside it are not listed
    "mount": [
        ("DocNum", lambda r, _: 0), ("MountNum", n("MountNum")), ("Description", s("Description")),
        ("PatNum", ns("PatNum")), ("DateCreated", dt("DateCreated")),
        ("docCategory", lambda r, lk: lk.def_name(r.get("DocCategory", ""))), ("DocCategory", n("DocCategory")),
        ("ToothNumbers", lambda r, _: ""), ("DateTStamp", lambda r, _: ""), (SERVER, None),
    ],
    # GET /patients/{PatNum} (apipatients.html): the one patient, whatever its status (Deleted too)
    "patient_single": [
        ("PatNum", n("PatNum")), ("LName", s("LName")), ("FName", s("FName")), ("Preferred", s("Preferred")),
        ("PatStatus", enum("PatStatus", PAT_STATUS)), ("Gender", enum("Gender", GENDER)),
        ("Birthdate", d("Birthdate")), ("PriProv", n("PriProv")), ("DateFirstVisit", d("DateFirstVisit")),
        ("DateTStamp", dt("DateTStamp")), ("SecDateEntry", d("SecDateEntry")), ("ClinicNum", n("ClinicNum")),
    ],
    # GET /histappointments (apihistappointments.html, 23.1.30): a copy of the appointment per change
    "histappointment": [
        ("HistApptNum", n("HistApptNum")), ("HistUserNum", n("HistUserNum")),
        ("HistDateTStamp", dt("HistDateTStamp")), ("HistApptAction", enum("HistApptAction", HIST_ACTION)),
        ("ApptSource", lambda r, _: "None"), ("AptNum", n("AptNum")), ("PatNum", n("PatNum")),
        ("AptStatus", enum("AptStatus", APT_STATUS)), ("Pattern", s("Pattern")), ("Confirmed", n("Confirmed")),
        ("Op", n("Op")), ("ProvNum", n("ProvNum")), ("ProvHyg", n("ProvHyg")), ("AptDateTime", dt("AptDateTime")),
        ("IsNewPatient", b("IsNewPatient")), ("IsHygiene", b("IsHygiene")), ("DateTStamp", dt("DateTStamp")),
    ],
    # GET /documents/{DocNum} (24.2.32): the only place ImgType comes back
    "document_single": [
        ("DocNum", n("DocNum")), ("Description", s("Description")), ("DateCreated", dt("DateCreated")),
        ("DocCategory", n("DocCategory")), ("docCategory", lambda r, lk: lk.def_name(r.get("DocCategory", ""))),
        ("PatNum", n("PatNum")), ("ImgType", enum("ImgType", IMG_TYPE)), ("ToothNumbers", s("ToothNumbers")),
        ("DateTStamp", dt("DateTStamp")),
    ],
    # GET /sheets?PatNum= (apisheets.html): no IsDeleted field (deleted sheets are not returned)
    "sheet": [
        ("SheetNum", n("SheetNum")), ("SheetType", enum("SheetType", SHEET_TYPE)), ("PatNum", n("PatNum")),
        ("DateTimeSheet", dt("DateTimeSheet")), ("Description", s("Description")),
        ("IsWebForm", b("IsWebForm")), ("DateTSheetEdited", dt("DateTSheetEdited")),
    ],
    # GET /eforms?PatNum= (24.3+): the eform table's columns, enums as text (OpenDentBusiness EForm.cs)
    "eform": [
        ("EFormNum", n("EFormNum")), ("FormType", enum("FormType", EFORM_TYPE)), ("PatNum", n("PatNum")),
        ("DateTimeShown", dt("DateTimeShown")), ("Description", s("Description")),
        ("DateTEdited", dt("DateTEdited")), ("EFormDefNum", n("EFormDefNum")),
        ("Status", enum("Status", EFORM_STATUS)),
    ],
    # GET /clinics (apiclinics.html)
    "clinic": [("ClinicNum", n("ClinicNum")), ("Description", s("Description")), ("Abbr", s("Abbr"))],
    # GET /preferences (apipreferences.html)
    "preference": [("PrefNum", n("PrefNum")), ("PrefName", s("PrefName")), ("ValueString", s("ValueString"))],
    # GET /claims (apiclaims.html): money as numbers, ClaimStatus/ClaimType as stored letters
    "claim": [
        ("ClaimNum", n("ClaimNum")), ("PatNum", n("PatNum")), ("DateService", d("DateService")),
        ("DateSent", d("DateSent")), ("ClaimStatus", s("ClaimStatus")), ("DateReceived", d("DateReceived")),
        ("PlanNum", n("PlanNum")), ("ProvTreat", n("ProvTreat")), ("ClaimFee", money("ClaimFee")),
        ("InsPayEst", money("InsPayEst")), ("InsPayAmt", money("InsPayAmt")), ("ClaimType", s("ClaimType")),
        ("InsSubNum", n("InsSubNum")), ("SecDateTEdit", dt("SecDateTEdit")),
    ],
    # GET /claimprocs (apiclaimprocs.html): Status as its name, money as numbers
    "claimproc": [
        ("ClaimProcNum", n("ClaimProcNum")), ("ProcNum", n("ProcNum")), ("ClaimNum", n("ClaimNum")),
        ("PatNum", n("PatNum")), ("FeeBilled", money("FeeBilled")), ("InsPayEst", money("InsPayEst")),
        ("Status", enum("Status", CLAIMPROC_STATUS)), ("PlanNum", n("PlanNum")), ("ProcDate", d("ProcDate")),
        ("InsSubNum", n("InsSubNum")), ("SecDateTEdit", dt("SecDateTEdit")),
    ],
}


def shape(kind: str, row: Row, lookups: Lookups, server_now: str) -> dict[str, Any]:
    return {name: (server_now if conv is None else conv(row, lookups)) for name, conv in SHAPES[kind]}


# ---------------------------------------------------------------- PUT /queries/ShortQuery
_DATETIME_COLS = {"DateTStamp", "SecDateTEdit", "SecDateTEntry", "AptDateTime", "DateCreated", "DateTimeSheet",
                  "DateTSheetEdited", "DateTimeShown", "DateTEdited", "HistDateTStamp"}
_DATE_COLS = {"Birthdate", "DateFirstVisit", "SecDateEntry", "ProcDate", "DateTP", "DateEffective", "DateTerm",
              "DateLastVerified", "RefDate", "DateProcComplete", "DateService", "DateSent", "DateReceived"}
_MONEY_COLS = {"ProcFee", "ClaimFee", "InsPayEst", "InsPayAmt", "FeeBilled"}
_TEXT_COLS = {"LName", "FName", "Preferred", "WirelessPhone", "Email", "Pattern", "Abbr", "ProcCode", "Descript",
              "AbbrDesc", "ProcTime", "ItemName", "ItemValue", "AppointmentTypeName", "CarrierName", "ElectID",
              "GroupName", "GroupNum", "SubscriberID", "Title", "ToothNumbers", "Description", "Surf", "ToothNum",
              "ClaimStatus", "ClaimType", "SSN", "RawBase64", "Thumbnail", "PrefName", "ValueString"}
_INT = re.compile(r"-?\d+")


def db_value(column: str, value: str) -> Any:
    """A cell as ShortQuery's DataTable serializes it: numbers as numbers, DATE/DATETIME as
    'yyyy-MM-ddTHH:mm:ss' (the docs' payperiod example), text as text."""
    if column in _DATETIME_COLS or column in _DATE_COLS:
        return fmt_datetime(parse_dt(value) or datetime(1, 1, 1), sep="T")
    if column in _MONEY_COLS:
        return float(value or 0)
    if column not in _TEXT_COLS and _INT.fullmatch(value or ""):
        return int(value)
    return value


_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|DROP|ALTER|CREATE|TRUNCATE|GRANT|REVOKE|RENAME|LOCK|SET)\b",
                    re.IGNORECASE)
_NOW = re.compile(r"^\s*SELECT\s+NOW\(\)\s*;?\s*$", re.IGNORECASE)
# SELECT <columns | * | FLOOR(pk/N) AS b, COUNT(*) AS n, SUM(pk) AS s> FROM <table>
#   [WHERE <col> <op> <'text' | number> [AND ...]] [GROUP BY <alias>] [ORDER BY <col> [ASC|DESC]]
_SELECT = re.compile(
    r"^\s*SELECT\s+(?P<cols>.+?)\s+FROM\s+`?(?P<table>\w+)`?"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+GROUP\s+BY\s+`?(?P<group>\w+)`?)?"
    r"(?:\s+ORDER\s+BY\s+`?(?P<order>\w+)`?(?:\s+(?P<dir>ASC|DESC))?)?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL)
_COND = re.compile(r"^\s*`?(?P<col>\w+)`?\s*(?P<op>>=|<=|<>|!=|>|<|=)\s*(?:'(?P<text>[^']*)'|(?P<num>-?\d+))\s*$")
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_COLUMN = re.compile(r"^`?(?P<col>\w+)`?$")
_FLOOR = re.compile(r"^FLOOR\(\s*`?(?P<col>\w+)`?\s*/\s*(?P<size>\d+)\s*\)\s+AS\s+(?P<alias>\w+)$", re.IGNORECASE)
_COUNT = re.compile(r"^COUNT\(\s*\*\s*\)\s+AS\s+(?P<alias>\w+)$", re.IGNORECASE)
_SUM = re.compile(r"^SUM\(\s*`?(?P<col>\w+)`?\s*\)\s+AS\s+(?P<alias>\w+)$", re.IGNORECASE)
# Tables whose SELECT * a strict fake refuses: they hold image bodies (RawBase64, Thumbnail) and SSNs.
STAR_REFUSED = ("document", "patient")


class QueryError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _compare(left: str, op: str, right: str) -> bool:
    try:
        lhs, rhs = parse_dt(left) or datetime(1, 1, 1), parse_dt(right) or datetime(1, 1, 1)
    except ValueError:
        try:
            lhs, rhs = float(left), float(right)  # type: ignore[assignment]
        except ValueError:
            lhs, rhs = left.lower(), right.lower()  # type: ignore[assignment]
    return {">=": lhs >= rhs, ">": lhs > rhs, "<=": lhs <= rhs, "<": lhs < rhs, "=": lhs == rhs,
            "<>": lhs != rhs, "!=": lhs != rhs}[op]


def _column(rows: list[Row], name: str, clause: str) -> str:
    """The table's own spelling of a column (MySQL: names are case-insensitive); 400 for an unknown one."""
    col = next((c for c in (rows[0] if rows else {}) if c.lower() == name.lower()), None)
    if rows and col is None:
        raise QueryError(400, f"Unknown column '{name}' in '{clause}'")
    return col or name


def _number(value: str | None) -> int:
    return int(float(value)) if value not in (None, "") else 0


def run_short_query(sql: str, tables: Mapping[str, Mapping[int, Row]], now: datetime, *, strict: bool = False
                    ) -> list[dict[str, Any]]:
    """The subset of read-only SQL the fake understands; raises QueryError otherwise.

    ``strict`` (a test helper mode) also refuses what the real server would answer but pms-bridge must
    never send: SELECT * on tables holding image bodies or SSNs, and a row query without ORDER BY.
    """
    if _WRITE.match(sql):  # the docs: 401 when the query is not read-only
        raise QueryError(401, "Query is not read-only.")
    if _NOW.match(sql):
        return [{"NOW()": fmt_datetime(now, sep="T")}]
    m = _SELECT.match(sql)
    if not m or re.search(r"\b(JOIN|UNION|LIMIT|INTO)\b", sql, re.IGNORECASE):
        raise QueryError(400, "The fake supports only SELECT NOW() and SELECT <columns> FROM <table> "
                              "[WHERE <col> <op> <value> [AND ...]] [GROUP BY <alias>] [ORDER BY <col>]")
    name = m["table"].lower()  # MySQL on Windows: table names are case-insensitive
    if name not in tables:
        raise QueryError(400, f"Table 'opendental.{name}' doesn't exist")
    rows = [tables[name][k] for k in sorted(tables[name])]
    items = [item.strip() for item in m["cols"].split(",")]
    if strict and items == ["*"] and name in STAR_REFUSED:
        raise QueryError(400, f"strict fake: SELECT * FROM {name} would read image bodies or SSNs")
    if strict and not m["order"]:
        raise QueryError(400, "strict fake: a query without ORDER BY may skip or repeat rows between pages")
    for cond in _AND.split(m["where"]) if m["where"] else []:
        c = _COND.match(cond)
        if not c:
            raise QueryError(400, f"You have an error in your SQL syntax near '{cond.strip()[:40]}'")
        col = _column(rows, c["col"], "where clause")
        value = c["text"] if c["text"] is not None else c["num"]
        rows = [r for r in rows if _compare(r.get(col, ""), c["op"], value)]
    floor = next((f for f in map(_FLOOR.match, items) if f), None)
    if floor:  # ids per bucket: FLOOR(pk/N) AS b, COUNT(*) AS n, SUM(pk) AS s ... GROUP BY b
        count = next((f for f in map(_COUNT.match, items) if f), None)
        total = next((f for f in map(_SUM.match, items) if f), None)
        if not count or not total or len(items) != 3 or (m["group"] or "").lower() != floor["alias"].lower():
            raise QueryError(400, "The fake supports only FLOOR(pk/N) AS b, COUNT(*) AS n, SUM(pk) AS s ... GROUP BY b")
        key, size = _column(rows, floor["col"], "field list"), int(floor["size"])
        summed = _column(rows, total["col"], "field list")
        buckets: dict[int, list[int]] = {}
        for r in rows:
            buckets.setdefault(_number(r.get(key)) // size, []).append(_number(r.get(summed)))
        return [{floor["alias"]: b, count["alias"]: len(v), total["alias"]: sum(v)} for b, v in sorted(buckets.items())]
    if m["group"]:
        raise QueryError(400, "The fake supports GROUP BY only for id buckets")
    if items == ["*"]:
        columns = list(rows[0]) if rows else []
    else:
        columns = []
        for item in items:
            c = _COLUMN.match(item)
            if not c:
                raise QueryError(400, f"The fake does not support the select item {item[:40]!r}")
            # A column no row has is left out (the sample does not carry every Open Dental column).
            columns.append(next((k for k in (rows[0] if rows else {}) if k.lower() == c["col"].lower()), c["col"]))
    if m["order"]:
        col = _column(rows, m["order"], "order clause")
        numeric = all(_INT.fullmatch(r.get(col) or "0") for r in rows)
        rows = sorted(rows, key=lambda r: _number(r.get(col)) if numeric else (r.get(col) or ""),
                      reverse=(m["dir"] or "").upper() == "DESC")
    return [{c: db_value(c, r[c]) for c in columns if c in r} for r in rows]


def parse_param_datetime(value: str) -> datetime:
    """A datetime query parameter: 'yyyy-MM-dd HH:mm:ss' (a bare date is read as midnight)."""
    for fmt in (API_DT, "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"DateTime format must be yyyy-MM-dd HH:mm:ss: {value!r}")


def parse_param_date(value: str) -> date:
    return datetime.strptime(value.strip(), "%Y-%m-%d").date()


def day_after(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(days=1)


# ---------------------------------------------------------------- request errors
class Reply(Exception):
    """Stop handling a request and answer with this status; ``body`` is sent as JSON unless ``text``."""

    def __init__(self, status: int, body: Any, *, text: bool = False) -> None:
        super().__init__(status, body)
        self.status, self.body, self.text = status, body, text


def bad(message: str) -> Reply:
    """400 with an explanation (the API sends explanations as a JSON string)."""
    return Reply(400, message)


def body_int(body: Mapping[str, Any], key: str, *, required: bool = False) -> int | None:
    """An id from a JSON body; like the real API, a numeric string ("101") is accepted."""
    value = body.get(key)
    if value in (None, ""):
        if required:
            raise bad(f"{key} is required.")
        return None
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value).strip()):
        raise bad(f"{key} is invalid.")
    return int(str(value).strip())


def body_datetime(body: Mapping[str, Any], key: str) -> str | None:
    """An optional 'yyyy-MM-dd HH:mm:ss' from a JSON body, normalised."""
    if not body.get(key):
        return None
    try:
        return fmt_datetime(parse_param_datetime(str(body[key])))
    except ValueError:
        raise bad(f"{key} format must be yyyy-MM-dd HH:mm:ss") from None


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad("A JSON object body is required.")
    return body
