"""CDT code sets written as codes and ranges ("D0210-D0350", "D2740")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator

from pms_bridge.model.enums import RadiographKind

_CODE = re.compile(r"^D\d{4}$")


def _number(code: str) -> int | None:
    code = code.strip().upper()
    return int(code[1:]) if _CODE.match(code) else None


def validate_code_spec(spec: str) -> str:
    """'D1110' or 'D0210-D0350'; raises ValueError with what is wrong."""
    parts = spec.split("-")
    if len(parts) > 2 or any(_number(p) is None for p in parts):
        raise ValueError(f"{spec!r} is not a CDT code (D1234) or a range (D0210-D0350)")
    if len(parts) == 2 and _number(parts[0]) > _number(parts[1]):  # type: ignore[operator]
        raise ValueError(f"range {spec!r} runs backwards")
    return spec.strip().upper()


# A setting's code or range, checked when the config is loaded.
CodeSpec = Annotated[str, AfterValidator(validate_code_spec)]


class CodeSet:
    """Membership test over CDT codes and ranges; other codes (non-CDT) are never members."""

    def __init__(self, specs: Iterable[str]) -> None:
        self.specs = [validate_code_spec(s) for s in specs]
        self._ranges: list[tuple[int, int]] = []
        for spec in self.specs:
            lo, _, hi = spec.partition("-")
            self._ranges.append((_number(lo), _number(hi or lo)))  # type: ignore[arg-type]

    def __contains__(self, code: object) -> bool:
        number = _number(code) if isinstance(code, str) else None
        return number is not None and any(lo <= number <= hi for lo, hi in self._ranges)


# What a completed radiograph procedure puts on file.
_RADIOGRAPH_PROCEDURES: list[tuple[CodeSet, RadiographKind]] = [
    (CodeSet(["D0210"]), RadiographKind.FMX),
    (CodeSet(["D0220-D0240"]), RadiographKind.PERIAPICAL),
    (CodeSet(["D0270-D0277"]), RadiographKind.BITEWING),
    (CodeSet(["D0330"]), RadiographKind.PANO),
    (CodeSet(["D0340"]), RadiographKind.CEPH),
    (CodeSet(["D0364-D0368", "D0380-D0386"]), RadiographKind.CBCT),
]
RADIOGRAPH_PROCEDURES = CodeSet(["D0200-D0399"])


def radiograph_kind_of_procedure(code: str) -> RadiographKind | None:
    """The kind of image a completed D02xx/D03xx procedure produced (None: not a radiograph)."""
    if code not in RADIOGRAPH_PROCEDURES:
        return None
    for codes, kind in _RADIOGRAPH_PROCEDURES:
        if code in codes:
            return kind
    return RadiographKind.OTHER
