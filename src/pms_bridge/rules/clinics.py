"""Which clinics of a multi-clinic office make tasks (`[practice] clinics`).

Clinics are named by the practice (abbreviation, description) or numbered by the
PMS (Open Dental's ClinicNum; 0 means no clinic). Names are practice data, not
patient data, so messages may show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pms_bridge.errors import ConfigurationProblem

NO_CLINIC = "0"  # records with no clinic (a single-clinic office, or Open Dental's "Headquarters")


class UnknownClinic(ValueError, ConfigurationProblem):
    """A selected clinic matches no clinic in the data."""


@dataclass(frozen=True)
class ClinicScope:
    """The selected clinics' ids (NO_CLINIC for records without one)."""

    ids: frozenset[str]

    def selects(self, clinic_id: str | None) -> bool:
        return (clinic_id or NO_CLINIC) in self.ids


def resolve_clinics(selection: Iterable[str | int], known: Mapping[str, set[str]]) -> ClinicScope:
    """Each entry by number (ClinicNum) or by any of a clinic's names, ignoring case.

    ``known`` maps every clinic id the data holds to its names.
    """
    ids: set[str] = set()
    unknown: list[str] = []
    for entry in selection:
        text = str(entry).strip()
        if text.isdigit() and (text == NO_CLINIC or text in known):
            ids.add(text)
            continue
        wanted = text.casefold()
        matches = {cid for cid, names in known.items() if wanted in {n.casefold() for n in names}}
        if matches:
            ids |= matches
        else:
            unknown.append(repr(entry))
    if unknown:
        listed = "; ".join(
            f"{cid} ({', '.join(sorted(names))})" if names else cid for cid, names in sorted(known.items())
        )
        raise UnknownClinic(
            f"practice.clinics: {', '.join(unknown)} matches no clinic in the data; "
            f"clinics known: {listed or 'none (the data holds no clinic numbers)'}; 0 selects records with no clinic"
        )
    return ClinicScope(frozenset(ids))
