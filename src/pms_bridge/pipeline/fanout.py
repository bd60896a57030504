"""Which patients' per-patient lists (coverage, documents, forms) a run asks the PMS for.

Some endpoints answer one patient at a time (Open Dental: patient plans, documents, sheets, eForms), so
asking for every patient the rules need costs one request per patient and endpoint each night. The
rules need the *working set*: patients with a scheduled appointment in the widest rule window, a recent
first contact or a recent referral (``rules.horizons``). Of those, a run asks for:

- patients new to the working set (not fetched on an earlier run, or fetched, left it and came back);
- patients whose own rows changed since their lists were last fetched (patient, appointments,
  procedures, referrals: an x-ray is charted as a procedure, a booking is an appointment);
- patients with open tasks of rules that read the entity, so a task can close the morning after the
  missing x-ray, form or plan arrives;
- the safety net: every patient of the working set at least once in ``REFRESH_DAYS`` days, staggered by
  patient id so that about 1/REFRESH_DAYS of them come up each night.

What this gives up: a list that changed while nothing else about the patient did (a web form filled in,
an imported image) is seen when the patient's slot comes up, at most ``REFRESH_DAYS`` days later. That
can make a NEW task wrong only when older evidence ages out meanwhile (a health history turning a year
old while a newer one sits unread); such a task is about a patient with an open task, so the next run
re-reads the list and the task resolves. A row deleted from such a list (a dropped plan, a deleted form)
makes its finding up to ``REFRESH_DAYS`` days late.

Each per-patient resource remembers whom it fetched and when in its cursor (JSON), written only once
the resource's rows are stored: a failed read leaves the old cursor, so those patients are asked again.
The "changed" test compares a row's ``changed_run`` with the run of the last fetch, so it relies on the
patients' own tables being synced before the per-patient ones (the mappings list them first).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import structlog

from pms_bridge.mapping import MappingFile
from pms_bridge.rules import RULES, Horizons, horizons
from pms_bridge.store import Store

log = structlog.get_logger("pms_bridge.sync")

# Each patient of the working set is asked for at least once in this many days (0: every run, the
# full fan-out; read when a run starts).
REFRESH_DAYS = 7
# The patients' own tables whose changes make their per-patient lists worth asking for again.
DATA_ENTITIES = ("patient", "appointment", "procedure", "referral")
_OPEN_TASKS_LIMIT = 1_000_000  # every patient with an open task (the store query needs a bound)


@dataclass
class FanoutChoice:
    """The patients one per-patient resource asks for this run, and the cursor to store once it is stored."""

    patients: list[str]
    cursor: str
    reasons: dict[str, int] = field(default_factory=dict)


def read_fetched(cursor: str | None) -> dict[str, tuple[int, date]]:
    """patient -> (run, day) of the last fetch, from a per-patient resource's cursor (empty: none yet)."""
    try:
        data = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    groups = data.get("fetched") if isinstance(data, dict) else None
    fetched: dict[str, tuple[int, date]] = {}
    for group in groups if isinstance(groups, list) else ():
        try:
            run, day, patients = group
            when = (int(run), date.fromisoformat(day))
        except (TypeError, ValueError):
            continue  # a cursor this code did not write: those patients count as new
        for patient in patients if isinstance(patients, list) else ():
            fetched[str(patient)] = when
    return fetched


def write_fetched(fetched: dict[str, tuple[int, date]]) -> str:
    """The cursor for ``fetched``, patients grouped by the run that fetched them (compact: ids once)."""
    groups: dict[tuple[int, date], list[str]] = {}
    for patient, when in fetched.items():
        groups.setdefault(when, []).append(patient)
    return json.dumps({"server_time": None, "fetched": [
        [run, day.isoformat(), sorted(ids, key=lambda p: (len(p), p))] for (run, day), ids in sorted(groups.items())
    ]})


def refresh_due(patient: str, fetched_on: date, today: date, every: int = REFRESH_DAYS) -> bool:
    """Whether the safety net asks for a patient last fetched on ``fetched_on``: once ``every`` days have
    passed, or earlier on the patient's own day of the cycle (spreads the re-reads over the nights).
    ``every`` 0: always."""
    age = (today - fetched_on).days
    if age >= every:
        return True
    return age >= 1 and zlib.crc32(patient.encode()) % every == today.toordinal() % every


class PatientFanout:
    """The working set, computed once when first asked, and each per-patient resource's share of it.

    Iterating gives the whole working set (a connector that does not choose asks for all of it).
    ``run_id`` and ``mapping`` are needed by ``choose``.
    """

    def __init__(
        self,
        store: Store,
        today: date,
        needs: Horizons | None = None,
        mapping: MappingFile | None = None,
        run_id: int | None = None,
        refresh_days: int | None = None,
    ) -> None:
        self.store, self.today = store, today
        self.needs = needs or horizons()
        self.mapping, self.run_id = mapping, run_id
        self.refresh_days = REFRESH_DAYS if refresh_days is None else refresh_days
        self._ids: set[str] | None = None
        self._changes: dict[int, dict[str, int]] = {}

    def working_set(self) -> set[str]:
        if self._ids is None:
            self._ids = self.store.patients_needing_detail(
                self.today,
                self.today + timedelta(days=self.needs.window_days),
                self.today - timedelta(days=self.needs.first_contact_days),
                self.today - timedelta(days=self.needs.referral_days),
            )
        return self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.working_set()))

    def choose(self, names: list[str], cursor: str | None) -> FanoutChoice:
        """The patients to ask the resource of ``names`` for (see the module's docstring), and its next cursor."""
        if self.run_id is None:
            raise ValueError("PatientFanout.choose needs the run id")
        working = self.working_set()
        fetched = {p: when for p, when in read_fetched(cursor).items() if p in working}
        new = working - fetched.keys()
        since = min((run for run, _ in fetched.values()), default=None)
        changes = self._last_changes(since) if since is not None else {}
        changed = {p for p, (run, _) in fetched.items() if changes.get(p, 0) > run}
        tasks = self._open_task_patients(names) & working
        due = {p for p, (_, day) in fetched.items() if refresh_due(p, day, self.today, self.refresh_days)}
        chosen = new | changed | tasks | due
        fetched.update(dict.fromkeys(chosen, (self.run_id, self.today)))
        reasons = {"working_set": len(working), "new": len(new), "changed": len(changed - new),
                   "open_tasks": len(tasks - new - changed), "refresh": len(due - new - changed - tasks),
                   "asked": len(chosen)}
        log.info("fanout.chosen", resource=names[0] if names else None, **reasons)
        return FanoutChoice(sorted(chosen, key=lambda p: (len(p), p)), write_fetched(fetched), reasons)

    # ------------------------------------------------------------------ store queries
    def _last_changes(self, since: int) -> dict[str, int]:
        """patient -> the latest run after ``since`` that changed one of their rows (DATA_ENTITIES)."""
        if since not in self._changes:
            self._changes[since] = self.store.patients_changed_since(since, DATA_ENTITIES)
        return self._changes[since]

    def _open_task_patients(self, names: list[str]) -> set[str]:
        entity = self._entity(names)
        if entity is None:
            return set()
        codes = [r.code for r in RULES.values() if entity in r.reads | r.also_reads]
        return set(self.store.patients_with_open_tasks(codes, _OPEN_TASKS_LIMIT)) if codes else set()

    def _entity(self, names: list[str]) -> str | None:
        """The entity the mapping's resource of ``names`` feeds (None: the mapping has no such resource)."""
        if self.mapping is None:
            return None
        for name, resource in self.mapping.resources.items():
            if name in names or set(self.mapping.resource_files(name)) & set(names):
                return resource.entity
        return None

