"""Load the rules' snapshot from the store: the one place the check stage reads stored records."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, time, timedelta

import structlog

from pms_bridge.model import ENTITIES, Record
from pms_bridge.rules import Horizons, Snapshot
from pms_bridge.rules.codes import radiograph_kind_of_procedure
from pms_bridge.rules.snapshot import FILM_ON_FILE
from pms_bridge.store import (
    History,
    Reach,
    Store,
    clinic_names,
    find_working_set,
    procedure_codes_stored,
    working_set_records,
)

log = structlog.get_logger("pms_bridge.pipeline.snapshot")


def load_snapshot(
    store: Store,
    clinics: Iterable[str | int] | None = None,
    *,
    as_of: datetime | None = None,
    needs: Horizons | None = None,
    reads: Collection[str] | None = None,
) -> Snapshot:
    """The snapshot the rules read, indexed for them.

    With ``as_of`` and ``needs`` (how far the practice's rules look, see rules.horizons): only the working
    set, i.e. the patients with a scheduled appointment in the window or a referral or first contact in
    the lookback, with the records the rules read of them (see ``rules_history``), and the practice-wide
    tables. Rules evaluated at ``as_of`` with
    settings inside ``needs`` find exactly what they find in the whole snapshot. ``reads``: load only these
    entities (the evidence of the rules to evaluate, see Rule.evidence; default: all). Without ``as_of``
    and ``needs``: every stored record (the slow reference).

    ``clinics``: the practice's selected clinics (see rules.clinics); the PMS's clinic table is
    read from the store's reference rows only then.
    """
    if (as_of is None) != (needs is None):
        raise ValueError("give both as_of and needs for the working set, or neither for the whole snapshot")
    clinic_rows = store.load_references(["clinic"]).get("clinic", {}) if clinics is not None else None
    if as_of is None or needs is None:
        return Snapshot.build(_every_record(store), store.practice.tz, clinics, clinic_rows)
    reach = Reach(as_of, needs.window_days, needs.first_contact_days, needs.referral_days, needs.referral_out_days,
                  needs.broken_days, needs.completed_procedure_days, needs.recent_visit_days,
                  needs.outstanding_claim_days)
    found = find_working_set(store, reach)
    log.debug("snapshot.working_set", patients=len(found.patient_ids), referred_out=len(found.referred_out),
              window=len(found.window_appointment_ids))
    records = working_set_records(store, found, reads, rules_history(store, reach))
    names = clinic_names(store) if clinics is not None else None
    return Snapshot.build(records, store.practice.tz, clinics, clinic_rows, names)


def rules_history(store: Store, reach: Reach) -> History:
    """What of a reached patient's history the rules read (rules.Snapshot builds nothing else from it):

    - appointments since the earliest referral, first contact or broken appointment in reach (a day early, for
      time zones), the first completed visit (whether the patient is new) and the latest (whether planned
      treatment is followed up);
    - the newest completed form of each kind (forms on file and how recent);
    - the newest film on file of each radiograph kind (documents) and of each film code (procedures), besides
      every procedure on a window appointment (loaded apart);
    - every planned procedure (unscheduled treatment) and the appointment it is on, procedures completed since
      the claim rules' lookback, their claim lines, and claims of services since then or still sent.

    The rest of a long history stays in the store: memory follows the patients in reach, not their years.
    """
    films = frozenset(code for code in procedure_codes_stored(store) if radiograph_kind_of_procedure(code) is not None)
    today = reach.today(store.practice.tz)
    first_day = today - timedelta(days=max(reach.first_contact_days, reach.referral_days, reach.broken_days) + 1)
    since = datetime.combine(first_day, time(), store.practice.tz)
    completed = today - timedelta(days=reach.completed_procedure_days) if reach.completed_procedure_days else None
    return History(procedure_codes=films, radiograph_documents=True, summaries=True, appointments_since=since,
                   film_statuses=frozenset(status.value for status in FILM_ON_FILE),
                   planned_procedures=reach.recent_visit_days > 0, completed_since=completed, claims_since=completed)


def _every_record(store: Store) -> Iterator[Record]:
    for entity in ENTITIES:
        yield from store.records(entity)
