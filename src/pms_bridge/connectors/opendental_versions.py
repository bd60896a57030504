"""Which Open Dental version each API call pms-bridge makes needs, and what is lost without it.

Open Dental answers 400 when the office's version is older than a method or parameter
(opendental.com/site/apiimplementation.html); the "Version Added" notes on the api*.html
pages give the floors below. The client turns such a 400 into ApiVersionTooOld with the
message of the matching row, so a report says which feature needs which version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class VersionFloor:
    method: str
    path: str  # a regular expression for the whole path, e.g. r"/tasks/\d+"
    version: str
    feature: str  # what needs the version, as a person reads it
    without: str  # what pms-bridge does on an older version, and what to do about it
    body_field: str | None = None  # applies only when the JSON body sets this field
    unless_param: str | None = None  # does not apply when the query string has this parameter
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(self.path))

    def applies(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> bool:
        if method.upper() != self.method or not self._pattern.fullmatch(path.rstrip("/")):
            return False
        if self.body_field is not None and not (isinstance(body, dict) and self.body_field in body):
            return False
        return not (self.unless_param is not None and params and params.get(self.unless_param) not in (None, ""))

    def message(self) -> str:
        return (
            f"{self.feature} needs Open Dental {self.version} or newer (the office's version is older): {self.without}"
        )


OPEN_DENTAL_VERSION_FLOORS: tuple[VersionFloor, ...] = (
    VersionFloor(
        "PUT", r"/tasks/\d+", "24.2.10", "marking tasks Done in Open Dental",
        "pms-bridge's own list still resolves them; they stay open in Open Dental until a person closes them "
        "or the office upgrades",
        body_field="TaskStatus",
    ),
    VersionFloor(
        "GET", "/claims", "23.3.11", "GET /claims",
        "claims are not read; upgrade Open Dental or ignore the CLM rules",
        unless_param="PatNum",
    ),
    VersionFloor(
        "GET", "/claimprocs", "22.2.33", "GET /claimprocs",
        "claim lines are not read: pre-authorizations are not seen (ignore PA001) and claims are matched to "
        "procedures by their service date; upgrade Open Dental",
    ),
    VersionFloor(
        "GET", "/insverifies", "23.2.23", "GET /insverifies",
        "insurance verifications are not read; upgrade Open Dental or ignore INS002",
    ),
    VersionFloor(
        "GET", "/patplans", "22.4.27", "GET /patplans",
        "patients' insurance plans are not read; upgrade Open Dental or ignore the INS, CLM and PA rules",
    ),
    VersionFloor(
        "GET", "/refattaches", "22.4.27", "GET /refattaches",
        "referrals attached to patients are not read; upgrade Open Dental or ignore the REF rules",
    ),
    VersionFloor(
        "GET", "/histappointments", "23.1.30", "GET /histappointments",
        "appointments deleted in Open Dental are found only in the upcoming window's re-list; upgrade Open Dental",
    ),
    VersionFloor(
        "GET", "/eforms", "24.3", "GET /eforms",
        "eForms are not read (sheets still are); upgrade Open Dental or fill in forms as sheets",
    ),
    VersionFloor(
        "GET", r"/documents/\d+", "24.2.32", "GET /documents/{DocNum} (image types)",
        "image types are not read; radiographs are recognised by image category only",
    ),
)


def version_floor(
    method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None
) -> VersionFloor | None:
    """The row for a request, or None when no documented floor covers it."""
    return next((f for f in OPEN_DENTAL_VERSION_FLOORS if f.applies(method, path, params, body)), None)


# Floor tables a connector file can name (`[rest] version_floors`).
FLOOR_TABLES = {"opendental": version_floor}
