"""INS003 insurance-incomplete."""

from __future__ import annotations

from builders import AS_OF, World, at, day


def test_fires_for_a_missing_subscriber_id() -> None:
    w = World()
    pat = w.patient()
    cov = w.coverage(pat, subscriber_id=None)
    apt = w.appointment(pat, at(6))
    (finding,) = w.run("INS003")
    assert (finding.subject_type, finding.subject_id, finding.appointment_id) == ("coverage", cov.source_id, apt.source_id)
    assert finding.title == "Coverage lacks subscriber id" and finding.data["missing"] == ["subscriber id"]
    assert finding.due == day(5) and finding.severity == "medium"


def test_blank_subscriber_id_is_missing() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, subscriber_id="   ")
    w.appointment(pat, at(2))
    assert len(w.run("INS003")) == 1


def test_carrier_needs_an_id_or_a_name() -> None:
    w = World()
    for carrier in ({"carrier_id": None}, {"carrier_name": None}):
        pat = w.patient()
        w.coverage(pat, **carrier)
        w.appointment(pat, at(2))
    assert w.run("INS003") == []
    pat = w.patient()
    w.coverage(pat, carrier_id=None, carrier_name="")
    w.appointment(pat, at(2))
    (finding,) = w.run("INS003")
    assert finding.title == "Coverage lacks carrier"


def test_missing_plan_and_several_things_at_once() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, plan_id=None, subscriber_id="", carrier_id=None, carrier_name=None)
    w.appointment(pat, at(2))
    (finding,) = w.run("INS003")
    assert finding.title == "Coverage lacks subscriber id and carrier and plan"
    assert finding.data["missing"] == ["subscriber id", "carrier", "plan"]
    assert "Acme Corp" in finding.detail and "Testpatient" not in finding.title + finding.detail


def test_complete_coverage_is_quiet_and_each_coverage_on_its_own() -> None:
    w = World()
    pat = w.patient()
    w.coverage(pat, ordinal=1, subscriber_id="A1")
    secondary = w.coverage(pat, ordinal=2, subscriber_id=None)
    w.appointment(pat, at(3))
    (finding,) = w.run("INS003")
    assert finding.subject_id == secondary.source_id
    assert "A1" not in finding.detail


def test_pending_coverage_is_checked_too() -> None:
    # A pending coverage is not billed yet (INS001/INS002 skip it), but its data should be complete.
    w = World()
    pat = w.patient()
    w.coverage(pat, subscriber_id=None, is_pending=True)
    w.appointment(pat, at(3))
    assert len(w.run("INS003")) == 1


def test_window_no_coverage_no_appointments() -> None:
    w = World()
    w.appointment(w.patient(), at(1))  # no coverage
    w.coverage(w.patient(), subscriber_id=None)  # no appointment at all
    pat = w.patient()
    w.coverage(pat, subscriber_id=None)
    w.appointment(pat, AS_OF + (at(14, 8) - at(0, 8)))  # as-of + 14 days exactly
    w.appointment(pat, at(2), status="broken")
    w.appointment(pat, at(-3), status="complete")
    assert w.run("INS003") == []
    assert len(w.run("INS003", window_days=15)) == 1
