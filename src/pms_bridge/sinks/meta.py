"""What a task list says about itself: whose list, how fresh, how healthy the last sync was."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class ListMeta:
    practice_name: str
    timezone: str  # IANA name; times are shown in it
    generated_at: datetime  # the as-of time of the run that made the list
    data_as_of: datetime | None  # newest change in the PMS data
    last_sync_at: datetime | None  # when the last sync finished
    sync_status: str | None  # ok / partial / failed (None: never synced)
    quarantined: int = 0  # rows the last sync quarantined
    failed_sources: list[str] = field(default_factory=list)  # files/resources not loaded last time
    # patient id -> display name ("Last, First"); only the HTML list shows names
    patient_names: dict[str, str] = field(default_factory=dict)
