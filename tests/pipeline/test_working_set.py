"""The fast path (the rules' working set, the ledger's open tasks) against the slow reference (every stored row).

On the sample practice, at as-of times around the demo's, at the lookbacks' edges, with wider rule settings,
per rule and with clinics selected: the findings, the snapshot's per-patient views and the tasks after the
ledger update are the same as with the whole snapshot and the whole ledger.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from postgres_rows import delete_practice_rows
from odexport import csv_config
from sqlalchemy import text

from pms_bridge.cli.demo import DEMO_AS_OF
from pms_bridge.config import Config, ConfigError, load_config
from pms_bridge.ledger import Ledger, reconcile
from pms_bridge.model.enums import FormKind, RadiographKind, ReferralDirection
from pms_bridge.pipeline import run_sync
from pms_bridge.pipeline.check import CheckReport, check_store, practice_horizons
from pms_bridge.pipeline.tasks import clinic_names, update_ledger
from pms_bridge.rules import RULES, Snapshot, select_rules
from pms_bridge.sample import generate_practice
from pms_bridge.store import Reach, Store, find_working_set, schema

TZ = DEMO_AS_OF.tzinfo

WIDER = """
[rules.SCH001]
window_days = 35
[rules.INS002]
days_ahead = 12
[rules.REF001]
lookback_days = 200
[rules.REF004]
max_age_days = 900
[rules.XR001]
lookback_days = 400
[rules.APT001]
business_days = 4
[rules.APT002]
lookback_days = 60
[rules.TX001]
after_days = 5
visit_months = 36
[rules.CLM001]
min_age_days = 1
max_age_days = 400
[rules.CLM002]
after_days = 10
[rules.PA001]
window_days = 30
"""
NARROW = """
[rules]
select = ["FRM", "INS003", "REF002", "APT002", "CLM002"]
[rules.REF002]
lookback_days = 30
[rules.APT002]
lookback_days = 10
"""


@dataclass
class Sample:
    folder: Path
    config: Path  # the synced practice's config (its store beside it)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    folder = tmp_path_factory.mktemp("working-set")
    generate_practice(folder / "exports", as_of=DEMO_AS_OF, seed=5, patients=400)
    config = csv_config(folder, folder / "exports")
    run_sync(load_config(config), DEMO_AS_OF)
    return Sample(folder, config)


def _copy(sample: Sample, tmp_path: Path, extra: str = "", name: str = "copy") -> Config:
    """A config over a copy of the synced store (``extra``: TOML appended: rule settings, or clinics)."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(sample.folder / "test.sqlite", folder / "test.sqlite")
    config = csv_config(folder, sample.folder / "exports")
    text_ = config.read_text(encoding="utf-8")
    if extra.strip().startswith("clinics"):  # a [practice] key
        text_ = text_.replace('timezone = "America/Chicago"\n', f'timezone = "America/Chicago"\n{extra.strip()}\n')
    else:
        text_ += extra
    config.write_text(text_, encoding="utf-8")
    return load_config(config)


def _checks(cfg: Config, as_of: datetime) -> tuple[CheckReport, CheckReport]:
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        return check_store(cfg, store, as_of, full=True), check_store(cfg, store, as_of)
    finally:
        store.close()


def _at(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=TZ)


def since(snapshot: Snapshot, pid: str, first_day: date) -> list[str]:
    """The patient's dated appointments from ``first_day`` on (local dates), in time order."""
    return [a.source_id for a in snapshot.appointments_by_patient.get(pid, [])
            if a.start is not None and a.start.astimezone(TZ).date() >= first_day]


def newest_films(snapshot: Snapshot, pid: str) -> dict[RadiographKind, date]:
    """The date of the patient's newest film on file of each radiograph kind."""
    newest: dict[RadiographKind, date] = {}
    for film in snapshot.radiographs_of(pid):
        newest[film.kind] = max(film.taken, newest.get(film.kind, film.taken))
    return newest


def completed_forms(snapshot: Snapshot, pid: str, kind: FormKind) -> date | None:
    """When the patient's newest completed form of ``kind`` was completed."""
    done = [f.completed_at for f in snapshot.forms_by_patient.get(pid, [])
            if f.kind == kind and f.completed_at is not None]
    return max(done, default=None)


def differences(full: Snapshot, fast: Snapshot, as_of: datetime, cfg: Config) -> list[str]:
    """What the working set gives the rules differently from the whole snapshot, for its own patients and
    for everything the rules reach (window, referrals, first contacts), of the entities the practice's rules
    read; empty when the same."""
    needs = practice_horizons(cfg)
    reads = {entity for r in select_rules(cfg.rules.select, cfg.rules.ignore) for entity in r.evidence}
    found: list[str] = []

    def same(what: str, entity: str, a: Any, b: Any) -> None:
        if entity in reads and a != b:
            found.append(what)

    start = as_of.astimezone(TZ)
    today = start.date()
    lookback = today - timedelta(days=max(needs.first_contact_days, needs.referral_days))
    same("window", "appointment", [a.source_id for a in full.upcoming(start, needs.window_days)],
         [a.source_id for a in fast.upcoming(start, needs.window_days)])
    same("providers", "provider", full.providers, fast.providers)
    same("codes", "procedure_code", full.codes, fast.codes)
    same("code times", "provider_code_time", full.code_times, fast.code_times)
    contacts = {pid for pid, p in full.patients.items()
                if p.first_contact_date and 0 <= (today - p.first_contact_date).days <= needs.first_contact_days}
    reached = contacts | {a.patient_id for a in full.upcoming(start, needs.window_days)} | {
        r.patient_id for r in full.referrals
        if r.referral_date and 0 <= (today - r.referral_date).days <= needs.referral_days}
    out_only = {r.patient_id for r in full.referrals if r.direction == ReferralDirection.OUT} - reached
    for pid in fast.patients:
        same(f"patient {pid}", "patient", full.patients[pid], fast.patients[pid])
        same(f"referrals of {pid}", "referral", full.referrals_by_patient.get(pid, []),
             fast.referrals_by_patient.get(pid, []))
        # Reached by a referral out only: its row and referrals are all a rule reads.
        if pid not in reached and pid in out_only and not fast.appointments_by_patient.get(pid):
            continue
        # Of a long history the rules read appointments since the lookback's start, the first completed visit,
        # the newest completed form of each kind and the newest film of each kind (rules_history).
        same(f"appointments of {pid}", "appointment", since(full, pid, lookback), since(fast, pid, lookback))
        same(f"first visit of {pid}", "appointment", full.first_completed_visit(pid), fast.first_completed_visit(pid))
        same(f"new patient {pid}", "appointment", full.is_new_patient(pid, today), fast.is_new_patient(pid, today))
        same(f"radiographs of {pid}", "document", newest_films(full, pid), newest_films(fast, pid))
        for kind in FormKind:
            same(f"forms of {pid}", "form", completed_forms(full, pid, kind), completed_forms(fast, pid, kind))
        coverages = full.coverages_by_patient.get(pid, [])
        same(f"coverages of {pid}", "coverage", coverages, fast.coverages_by_patient.get(pid, []))
        for cov in coverages:
            same(f"verifications of coverage {cov.source_id}", "verification",
                 full.verifications_by_coverage.get(cov.source_id, []),
                 fast.verifications_by_coverage.get(cov.source_id, []))
            if cov.plan_id:
                same(f"verifications of plan {cov.plan_id}", "verification",
                     full.verifications_by_plan.get(cov.plan_id, []), fast.verifications_by_plan.get(cov.plan_id, []))
    for apt in full.upcoming(start, needs.window_days):  # the rules read procedures of window appointments only
        same(f"procedures of appointment {apt.source_id}", "procedure", full.procedures_of(apt.source_id),
             fast.procedures_of(apt.source_id))
    recent = {r.source_id for r in full.referrals
              if r.referral_date and 0 <= (today - r.referral_date).days <= needs.referral_days}
    same("referrals", "referral", recent, recent & {r.source_id for r in fast.referrals})
    out = {r.source_id for r in full.referrals if r.direction == ReferralDirection.OUT
           and r.referral_date and 0 <= (today - r.referral_date).days <= needs.referral_out_days}
    same("referrals out", "referral", out, out & {r.source_id for r in fast.referrals})
    same("first contacts", "patient", contacts, contacts & fast.patients.keys())
    reached_here = [pid for pid in fast.patients if pid not in out_only or fast.appointments_by_patient.get(pid)]
    found += _claims_and_treatment_differences(full, fast, reached_here, today, needs, reads)
    return found


def _claims_and_treatment_differences(full: Snapshot, fast: Snapshot, patients: list[str], today: date, needs: Any,
                                      reads: set[str]) -> list[str]:
    """What the appointment, treatment and claim rules read: broken and missed appointments, planned and completed
    procedures with their claim lines and claims, claims still sent, each patient's latest visit."""
    found: list[str] = []

    def same(what: str, entity: str, a: Any, b: Any) -> None:
        if entity in reads and a != b:
            found.append(what)

    broken_since = today - timedelta(days=needs.broken_days)
    broken = {a.patient_id for a in full.appointments.values() if a.start is not None
              and a.start.astimezone(TZ).date() >= broken_since and a.status.value in ("broken", "cancelled")}
    same("patients with broken appointments", "appointment", broken, broken & fast.patients.keys())
    sent = {c.patient_id for c in full.claims.values() if c.status.value == "sent" and c.claim_type.value != "preauth"
            and needs.outstanding_claim_days and c.sent_date
            and (today - c.sent_date).days > needs.outstanding_claim_days}
    same("patients with claims out", "claim", sent, sent & fast.patients.keys())
    completed_since = today - timedelta(days=needs.completed_procedure_days) if needs.completed_procedure_days else None
    for pid in patients:
        same(f"latest visit of {pid}", "appointment", full.last_completed_visit(pid), fast.last_completed_visit(pid))
        procs = {p.source_id: p for p in full.procedures_by_patient.get(pid, [])
                 if p.status.value == "planned" and needs.recent_visit_days
                 or p.status.value == "complete" and completed_since and p.procedure_date
                 and p.procedure_date >= completed_since}
        fast_procs = {p.source_id for p in fast.procedures_by_patient.get(pid, [])}
        same(f"planned and completed procedures of {pid}", "procedure", set(procs), set(procs) & fast_procs)
        for proc in procs.values():
            same(f"claim lines of procedure {proc.source_id}", "claim_procedure", full.claim_lines_of(proc.source_id),
                 fast.claim_lines_of(proc.source_id))
            if proc.appointment_id:
                same(f"appointment of procedure {proc.source_id}", "appointment",
                     full.appointments.get(proc.appointment_id), fast.appointments.get(proc.appointment_id))
            named = {line.claim_id for line in full.claim_lines_of(proc.source_id) if line.claim_id}
            same(f"claims of procedure {proc.source_id}", "claim", {c: full.claims.get(c) for c in named},
                 {c: fast.claims.get(c) for c in named})
        recent = [c for c in full.claims_by_patient.get(pid, []) if c.status.value == "sent"
                  or (completed_since and c.service_date and c.service_date >= completed_since)]
        same(f"claims of {pid}", "claim", recent, [c for c in recent if c.source_id in fast.claims])
    return found


def _assert_same(cfg: Config, as_of: datetime) -> CheckReport:
    full, fast = _checks(cfg, as_of)
    assert fast.findings == full.findings
    assert (fast.rules, fast.skipped) == (full.rules, full.skipped)
    assert full.snapshot is not None and fast.snapshot is not None
    assert len(fast.snapshot.patients) < len(full.snapshot.patients)  # it is a working set
    diffs = differences(full.snapshot, fast.snapshot, as_of, cfg)
    assert diffs == [], diffs[:60]
    return full


AS_OF_DAYS = [-45, -10, -1, 0, 3, 6, 20]


@pytest.mark.parametrize("settings", ["", WIDER, NARROW], ids=["defaults", "wider", "narrow"])
def test_findings_of_the_working_set_are_those_of_the_whole_snapshot(sample: Sample, tmp_path: Path,
                                                                      settings: str) -> None:
    cfg = _copy(sample, tmp_path, settings)
    counts = []
    for days in AS_OF_DAYS:
        full = _assert_same(cfg, DEMO_AS_OF + timedelta(days=days))
        counts.append(len(full.findings))
    assert counts[AS_OF_DAYS.index(0)] > 0 and len(set(counts)) > 1  # the comparison compared something


@pytest.mark.postgres
def test_the_working_set_on_postgresql_gives_the_findings_of_the_whole_snapshot(
        sample: Sample, tmp_path: Path, postgres_url: str) -> None:
    """The working set's queries (batched IN lists, window functions picking the newest rows) on PostgreSQL."""
    key = f"ws-{uuid.uuid4().hex[:10]}"
    path = csv_config(tmp_path, sample.folder / "exports", key=key)
    path.write_text(path.read_text(encoding="utf-8").replace(f'path = "{key}.sqlite"', f'url = "{postgres_url}"'),
                    encoding="utf-8")
    cfg = load_config(path)
    try:
        run_sync(cfg, DEMO_AS_OF)
        counts = [len(_assert_same(cfg, DEMO_AS_OF + timedelta(days=days)).findings) for days in AS_OF_DAYS]
        assert counts[AS_OF_DAYS.index(0)] > 0
    finally:
        delete_practice_rows(postgres_url, key)


def _edge_days(cfg: Config) -> list[date]:
    """As-of dates that put a referral in or a first contact exactly on, and just past, the 90-day lookback."""
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        with store.engine.connect() as conn:
            referral = conn.execute(text(
                "SELECT max(referral_date) FROM referrals WHERE direction = 'in' AND referral_date <= :d"
            ), {"d": DEMO_AS_OF.date() - timedelta(days=20)}).scalar_one()
            contact = conn.execute(text(
                "SELECT max(first_contact_date) FROM patients WHERE first_contact_date <= :d"
            ), {"d": DEMO_AS_OF.date() - timedelta(days=30)}).scalar_one()
    finally:
        store.close()
    days = []
    for value in (referral, contact):
        start = value if isinstance(value, date) else date.fromisoformat(value)
        days += [start + timedelta(days=90), start + timedelta(days=91)]
    return days


def test_same_findings_with_referrals_and_first_contacts_on_the_lookback_edge(sample: Sample, tmp_path: Path) -> None:
    cfg = _copy(sample, tmp_path)
    for day in _edge_days(cfg):
        for moment in (_at(day), datetime.combine(day, time(0, 0), tzinfo=TZ),
                       datetime.combine(day, time(23, 59), tzinfo=TZ)):
            _assert_same(cfg, moment)


@pytest.mark.parametrize("code", list(RULES))
def test_each_rule_alone_finds_the_same(sample: Sample, tmp_path: Path, code: str) -> None:
    """One rule selected: the working set loads only the entities that rule declares it reads."""
    cfg = _copy(sample, tmp_path, f'\n[rules]\nselect = ["{code}"]\n')
    full, fast = _checks(cfg, DEMO_AS_OF)
    assert fast.findings == full.findings


CLINICS = """
UPDATE patients SET clinic_id = CAST(CAST(source_id AS INTEGER) % 3 + 1 AS TEXT),
                    clinic = 'C' || CAST(CAST(source_id AS INTEGER) % 3 + 1 AS TEXT);
UPDATE appointments SET clinic_id = CAST(CAST(source_id AS INTEGER) % 2 + 1 AS TEXT),
                        clinic = 'C' || CAST(CAST(source_id AS INTEGER) % 2 + 1 AS TEXT)
    WHERE CAST(source_id AS INTEGER) % 4 = 0;
UPDATE appointments SET clinic_id = '9', clinic = 'Faraway'
    WHERE source_id = (SELECT min(source_id) FROM appointments WHERE status = 'complete');
"""


def _with_clinics(cfg: Config) -> None:
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        with store.engine.begin() as conn:
            for statement in CLINICS.split(";"):
                if statement.strip():
                    conn.execute(text(statement))
    finally:
        store.close()


@pytest.mark.parametrize("clinics", ['["C1", 3]', '["Faraway", "c2"]', '["0"]'])
def test_same_findings_with_clinics_selected(sample: Sample, tmp_path: Path, clinics: str) -> None:
    cfg = _copy(sample, tmp_path, f"clinics = {clinics}")
    _with_clinics(cfg)
    for days in (0, 6):
        _assert_same(cfg, DEMO_AS_OF + timedelta(days=days))


def test_an_unknown_clinic_is_named_the_same_way(sample: Sample, tmp_path: Path) -> None:
    cfg = _copy(sample, tmp_path, 'clinics = ["Nowhere"]')
    _with_clinics(cfg)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        with pytest.raises(ConfigError) as slow:
            check_store(cfg, store, DEMO_AS_OF, full=True)
        with pytest.raises(ConfigError) as fast:
            check_store(cfg, store, DEMO_AS_OF)
    finally:
        store.close()
    assert str(fast.value) == str(slow.value) and "Faraway" in str(fast.value)


def test_the_comparison_sees_a_working_set_that_drops_plan_verifications(sample: Sample, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The equivalence checks can fail: without plan-level verifications the working set differs."""
    from pms_bridge.store import working_set

    real = working_set.records_where

    def without_plans(store: Store, entity: str, column: str, values: Any, *rest: Any) -> Any:
        return iter(()) if column == "plan_id" else real(store, entity, column, values, *rest)

    cfg = _copy(sample, tmp_path)
    monkeypatch.setattr(working_set, "records_where", without_plans)
    full, fast = _checks(cfg, DEMO_AS_OF)
    assert full.snapshot is not None and fast.snapshot is not None
    found = differences(full.snapshot, fast.snapshot, DEMO_AS_OF, cfg)
    assert found and all(d.startswith("verifications of plan") for d in found)


def test_the_comparison_sees_a_working_set_without_claim_lines(sample: Sample, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim rules' views are compared too: without claim lines the working set differs."""
    from pms_bridge.store import working_set

    real = working_set.records_where

    def without_lines(store: Store, entity: str, *rest: Any) -> Any:
        return iter(()) if entity == "claim_procedure" else real(store, entity, *rest)

    cfg = _copy(sample, tmp_path)
    monkeypatch.setattr(working_set, "records_where", without_lines)
    full, fast = _checks(cfg, DEMO_AS_OF)
    assert full.snapshot is not None and fast.snapshot is not None
    found = differences(full.snapshot, fast.snapshot, DEMO_AS_OF, cfg)
    assert found and all(d.startswith(("claim lines of", "claims of")) for d in found), found


@pytest.mark.parametrize("dropped", ["first visit", "newest film", "newest form"])
def test_the_comparison_sees_a_history_summary_that_keeps_the_wrong_row(
        sample: Sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dropped: str) -> None:
    """The summaries of a long history can be wrong in a way the comparison sees: the oldest film or form kept
    instead of the newest, or no first completed visit."""
    from pms_bridge.store import working_set

    real = working_set.records_where

    def wrong(store: Store, entity: str, column: str, values: Any, only: Any = None, newest: Any = None) -> Any:
        if newest is None:
            return real(store, entity, column, values, only)
        if dropped == "first visit" and entity == "appointment":
            return iter(())
        if (dropped == "newest film" and entity in ("document", "procedure")) or (
                dropped == "newest form" and entity == "form"):
            newest = working_set._Newest(newest.group, tuple(c.element for c in newest.order))  # oldest first
        return real(store, entity, column, values, only, newest)

    cfg = _copy(sample, tmp_path)
    monkeypatch.setattr(working_set, "records_where", wrong)
    found = []
    for days in AS_OF_DAYS:
        full, fast = _checks(cfg, DEMO_AS_OF + timedelta(days=days))
        assert full.snapshot is not None and fast.snapshot is not None
        found += differences(full.snapshot, fast.snapshot, DEMO_AS_OF + timedelta(days=days), cfg)
    expected = {"first visit": ("first visit of", "new patient", "latest visit of"), "newest film": ("radiographs of",),
                "newest form": ("forms of",)}[dropped]
    assert found and all(d.startswith(expected) for d in found), found


# ------------------------------------------------------------------ the ledger


def _reference_update(store: Store, check: CheckReport, run_id: int, held: dict[str, str]) -> dict[str, int]:
    """The ledger update as it was: every stored task, every fingerprint, every appointment's start."""
    snapshot = check.snapshot
    assert snapshot is not None
    ledger = Ledger(store)
    update = reconcile(
        {t.key: t for t in ledger.tasks()}, check.findings, as_of=check.as_of, tz=snapshot.tz,
        evaluated_rules=set(check.rules),
        appointment_starts={aid: apt.start for aid, apt in snapshot.appointments.items()},
        assignees={"patient": "Front desk"}, held=held, fingerprints=ledger.fingerprints(),
        clinics=clinic_names(check.findings, snapshot),
    )
    ledger.apply(update, run_id, check.as_of)
    return update.counts


def _dismiss_first_open(stores: list[Store], at: datetime, rule_prefix: str) -> None:
    key = next(t.key for t in Ledger(stores[0]).tasks(["open"]) if t.rule.startswith(rule_prefix))
    for store in stores:
        Ledger(store).dismiss(key, "handled by phone", at)


def _remove_an_open_tasks_appointment(stores: list[Store]) -> None:
    """An appointment an open task is about leaves the PMS (deleted): its start comes from the task."""
    aid = next(t.appointment_id for t in Ledger(stores[0]).tasks(["open"]) if t.appointment_id)
    for store in stores:
        assert store.remove("appointment", [aid]) == 1


def _move_an_open_tasks_appointment_back(stores: list[Store], cfg: Config, to: datetime, next_run: datetime) -> None:
    """An open task's appointment moves into the past, and its patient leaves the working set of the next run:
    the task expires on the stored start, which only the store knows (the task keeps the old one)."""
    apts = schema.SNAPSHOT_TABLES["appointment"]
    needs = practice_horizons(cfg)
    reach = Reach(next_run, needs.window_days, needs.first_contact_days, needs.referral_days)
    for task in Ledger(stores[0]).tasks(["open"]):
        if not task.appointment_id or task.appointment_at is None or task.appointment_at <= next_run:
            continue
        for store in stores:
            with store.engine.begin() as conn:
                conn.execute(apts.update().where(apts.c.source_id == task.appointment_id).values(start=to))
        if task.patient_id not in find_working_set(stores[0], reach).patient_ids:
            return
        for store in stores:
            with store.engine.begin() as conn:
                conn.execute(apts.update().where(apts.c.source_id == task.appointment_id)
                             .values(start=task.appointment_at))
    raise AssertionError("no open task's patient can leave the working set")


@pytest.mark.parametrize("settings", ["", WIDER], ids=["defaults", "wider"])
def test_tasks_after_the_ledger_update_are_those_of_the_whole_ledger(sample: Sample, tmp_path: Path,
                                                                     settings: str) -> None:
    slow_cfg = _copy(sample, tmp_path, settings, name="slow")
    fast_cfg = _copy(sample, tmp_path, settings, name="fast")
    slow = Store.open(slow_cfg.store_url(), slow_cfg.practice.practice())
    fast = Store.open(fast_cfg.store_url(), fast_cfg.practice.practice())
    try:
        steps: list[tuple[int, dict[str, str]]] = [(-10, {}), (0, {}), (2, {"INS002": "a table was cut short"}),
                                                  (6, {}), (20, {}), (1, {}), (45, {})]
        statuses: set[str] = set()
        for run_id, (days, held) in enumerate(steps, start=1):
            as_of = DEMO_AS_OF + timedelta(days=days)
            expected = _reference_update(slow, check_store(slow_cfg, slow, as_of, full=True), run_id, held)
            check = check_store(fast_cfg, fast, as_of)
            got = update_ledger(fast, check, check.snapshot, run_id, held, {"patient": "Front desk"})
            assert got.counts == expected
            assert Ledger(fast).tasks() == Ledger(slow).tasks()
            assert fast.task_fingerprints() == slow.task_fingerprints()
            statuses |= {t.status for t in Ledger(fast).tasks()}
            if days == 0:
                _dismiss_first_open([slow, fast], as_of, "INS")
                _dismiss_first_open([slow, fast], as_of, "REF")
                _remove_an_open_tasks_appointment([slow, fast])
                _move_an_open_tasks_appointment_back([slow, fast], fast_cfg, as_of - timedelta(days=3),
                                                     DEMO_AS_OF + timedelta(days=2))
        assert statuses >= {"open", "resolved", "expired", "dismissed"}
    finally:
        slow.close()
        fast.close()


# ------------------------------------------------------------------ names on the task lists


def test_names_are_read_for_the_tasks_the_html_lists_show(sample: Sample, tmp_path: Path) -> None:
    from pms_bridge.config.models import SinkSection
    from pms_bridge.pipeline.tasks import _named_patients, stored_patient_names
    from pms_bridge.sinks.registry import get_sink

    cfg = _copy(sample, tmp_path)
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        check = check_store(cfg, store, DEMO_AS_OF)
        update_ledger(store, check, check.snapshot, 1, {}, {})
        later = check_store(cfg, store, DEMO_AS_OF + timedelta(days=20))
        update_ledger(store, later, later.snapshot, 2, {}, {})
        tasks = Ledger(store).tasks()
        by_status = {s: {t.patient_id for t in tasks if t.status == s} for s in ("open", "resolved", "expired")}
        assert all(by_status.values())

        def sinks(*tables: dict[str, Any]) -> list[tuple[SinkSection, Any]]:
            sections = [SinkSection.model_validate(table) for table in tables]
            return [(section, get_sink(section.type)) for section in sections]

        html = {"type": "html", "path": "tasks.html"}
        assert _named_patients(tasks, sinks(html, {"type": "json", "path": "t.json", "status": ["resolved"]})) \
            == by_status["open"]
        assert _named_patients(tasks, sinks({**html, "status": ["open", "expired"]})) \
            == by_status["open"] | by_status["expired"]
        assert _named_patients(tasks, sinks({"type": "csv", "path": "t.csv"})) == set()
        names = stored_patient_names(store, by_status["open"])
        assert names.keys() == by_status["open"] and names == {
            pid: name for pid, name in stored_patient_names(store).items() if pid in by_status["open"]}
    finally:
        store.close()


def test_unbilled_work_reaches_every_claim_not_sent_without_asking_for_coverage(sample: Sample, tmp_path: Path) -> None:
    """The patients a route reading coverage per patient must ask for, so that CLM001 can see theirs."""
    from pms_bridge.store.working_set import unbilled_work

    cfg = _copy(sample, tmp_path, '\n[rules]\nselect = ["CLM001"]\n')
    store = Store.open(cfg.store_url(), cfg.practice.practice())
    try:
        full, _ = _checks(cfg, DEMO_AS_OF)
        with store.engine.connect() as conn:
            reached = set(conn.scalars(unbilled_work(store, DEMO_AS_OF.date(), 180)))
    finally:
        store.close()
    found = {f.patient_id for f in full.findings}
    assert found and found <= reached
    assert len(reached) < len({p for p in full.snapshot.patients}) / 4  # a few, not everyone seen lately
