"""CLM002 claim-unpaid."""

from __future__ import annotations

from decimal import Decimal

from builders import World, day


def test_fires_for_a_claim_sent_more_than_30_days_ago() -> None:
    w = World()
    pat = w.patient()
    claim = w.claim(pat, sent_date=day(-31), service_date=day(-33), fee=Decimal("1230.50"))
    (finding,) = w.run("CLM002")
    assert (finding.subject_type, finding.subject_id, finding.patient_id) == ("claim", claim.source_id, pat.source_id)
    assert finding.title == "Claim unpaid 31 days (Example Dental Plan, $1,230.50)"
    assert f"sent {day(-31).isoformat()}" in finding.detail and "31 days outstanding" in finding.detail
    assert finding.data["days_outstanding"] == 31 and finding.data["carrier"] == "Example Dental Plan"
    assert finding.due == day(0) and finding.appointment_id is None


def test_thirty_days_is_not_more_than_thirty() -> None:
    w = World()
    w.claim(w.patient(), sent_date=day(-30))
    assert w.run("CLM002") == []
    assert len(w.run("CLM002", after_days=29)) == 1


def test_only_claims_still_sent_and_not_preauthorizations() -> None:
    w = World()
    pat = w.patient()
    for status in ("received", "unsent", "waiting", "hold", "other"):
        w.claim(pat, status=status, sent_date=day(-60))
    w.claim(pat, claim_type="preauth", sent_date=day(-60))
    w.claim(pat, sent_date=None)  # sent state without a date: nothing to count from
    assert w.run("CLM002") == []
    secondary = w.claim(pat, claim_type="secondary", sent_date=day(-45))
    assert [f.subject_id for f in w.run("CLM002")] == [secondary.source_id]


def test_unknown_carrier_and_amount_are_said_so() -> None:
    w = World()
    w.claim(w.patient(), sent_date=day(-40), carrier_name=None, fee=None)
    (finding,) = w.run("CLM002")
    assert finding.title == "Claim unpaid 40 days (unknown carrier, amount unknown)"
