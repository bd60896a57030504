"""The log redaction (pms_bridge.logs): `scrub`, `redact_phi` and the processor chain
`configure_logging` builds. Each test names the wrong change it catches."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pydantic
import pytest
import structlog

from pms_bridge.logs import REDACTED, configure_logging, redact_phi, scrub

# One sample per pattern, each inside a sentence and caught by that pattern alone
# (dropping the pattern leaves the secret part in the output).
PATTERN_SAMPLES = {
    "phone (parens)": ("call (555) 867-5309 tomorrow", "867-5309"),
    "phone (dots)": ("call 555.867.5309 tomorrow", "867.5309"),
    "phone (+1)": ("call +1 555 867 5309 tomorrow", "867 5309"),
    "e-mail": ("write to jane.doe+x@mail.example.com now", "jane.doe"),
    "ssn": ("ssn 123-45-6789 on file", "6789"),
    "date of birth (iso)": ("born 1913-07-19 in town", "1913"),
    "date of birth (us)": ("born 7/19/1913 in town", "1913"),
    "pydantic input_value": (("Input should be a valid date [type=date_from_datetime_parsing, "
                              "input_value='Quinn Smith', input_type=str]"), "Quinn Smith"),
    "pydantic input_value (unquoted)": ("bad value, input_value=Qphitoken, input_type=str", "Qphitoken"),
    "od authorization header": ("header ODFHIR devkeyx/custkeyy rejected", "devkeyx"),
    "member id": ("subscriber PHISUB998877 verified", "PHISUB998877"),
}


@pytest.mark.parametrize("text, secret", PATTERN_SAMPLES.values(), ids=PATTERN_SAMPLES.keys())
def test_scrub_removes_each_pattern_inside_a_sentence(text: str, secret: str) -> None:
    # Catches: a pattern removed from _PATTERNS (or broken).
    out = scrub(text)
    assert secret not in out
    assert REDACTED in out
    assert out.split()[0] == text.split()[0]  # the surrounding sentence stays readable


def test_scrub_leaves_ordinary_text_alone() -> None:
    text = "synced 42 rows of table patient in 3 pages; 2 quarantined"
    assert scrub(text) == text


def test_scrub_removes_every_occurrence() -> None:
    out = scrub("home (555) 867-5309, cell (555) 123-4567, mail a@b.example, born 1913-07-19")
    for secret in ("867-5309", "123-4567", "a@b.example", "1913"):
        assert secret not in out
    assert out.count(REDACTED) == 4


# ------------------------------------------------------------------ redact_phi (the processor)


def _redact(**event: object) -> dict:
    return redact_phi(None, "info", dict(event))


def test_keys_naming_patient_data_are_masked_whatever_their_spelling() -> None:
    out = _redact(event="x", LName="Smith", first_name="Quinn", **{"Birth-Date": "ok", "SubscriberID": "1"},
                  Authorization="ODFHIR a/b", table="patient", rows=12)
    assert out == {"event": "x", "LName": REDACTED, "first_name": REDACTED, "Birth-Date": REDACTED,
                   "SubscriberID": REDACTED, "Authorization": REDACTED, "table": "patient", "rows": 12}


def test_plain_string_values_are_scrubbed() -> None:
    # Catches: _clean returning strings unscrubbed (redaction never applied to plain strings).
    out = _redact(event="row.quarantined", reason="bad phone (555) 867-5309 for jane@mail.example.com")
    assert "867-5309" not in out["reason"] and "jane@" not in out["reason"]
    assert out["reason"].startswith("bad phone ")


def test_the_event_name_itself_is_scrubbed() -> None:
    out = _redact(event="patient born 1913-07-19 called (555) 867-5309")
    assert out["event"] == f"patient born {REDACTED} called {REDACTED}"


def test_non_string_event_is_left_as_is() -> None:
    marker = object()
    assert _redact(event=marker)["event"] is marker


def test_lists_are_recursed_into() -> None:
    # Catches: _clean no longer descending into lists.
    out = _redact(event="x", problems=["phone (555) 867-5309", "ok", 3, None])
    assert out["problems"] == [f"phone {REDACTED}", "ok", 3, None]


def test_tuples_and_sets_are_recursed_into() -> None:
    # Catches: the recursion narrowed to lists only.
    out = _redact(event="x", pair=("born 1913-07-19", 5), seen={"mail a@b.example"})
    assert out["pair"] == [f"born {REDACTED}", 5]
    assert out["seen"] == [f"mail {REDACTED}"]


def test_dicts_are_recursed_into_with_their_keys_checked() -> None:
    # Catches: _clean no longer descending into mappings (or not masking PHI keys inside them).
    out = _redact(event="x", detail={"table": "patient", "LName": "Smith", "why": "ssn 123-45-6789",
                                     "inner": {"Email": "x", "count": 2}})
    assert out["detail"] == {"table": "patient", "LName": REDACTED, "why": f"ssn {REDACTED}",
                             "inner": {"Email": REDACTED, "count": 2}}


def test_nesting_of_every_kind_is_followed_all_the_way_down() -> None:
    out = _redact(event="x", deep=[{"rows": ({"note_text": ["call (555) 867-5309"]},)}])
    assert out["deep"] == [{"rows": [{"note_text": [f"call {REDACTED}"]}]}]
    assert "867" not in json.dumps(out)


def test_phi_keys_inside_lists_of_dicts_are_masked() -> None:
    out = _redact(event="x", rows=None, items=[{"FName": "Quinn", "PatNum": 7}])
    assert out["items"] == [{"FName": REDACTED, "PatNum": 7}]


def test_exceptions_are_rendered_scrubbed() -> None:
    out = _redact(event="x", error=ValueError("patient born 1913-07-19 phone (555) 867-5309"))
    assert out["error"] == f"ValueError: patient born {REDACTED} phone {REDACTED}"


def test_a_real_pydantic_error_message_loses_its_input_value() -> None:
    class Row(pydantic.BaseModel):
        birth_date: pydantic.PastDate

    with pytest.raises(pydantic.ValidationError) as exc:
        Row(birth_date="Quinn Qphitoken Smith")
    assert "Qphitoken" in str(exc.value)  # pydantic does quote the value
    out = _redact(event="x", reason=str(exc.value), errors=[exc.value])
    assert "Qphitoken" not in json.dumps(out)
    assert "birth_date" in out["reason"]  # the field name, not patient data, stays


def test_redact_phi_does_not_change_the_event_dict_it_was_given() -> None:
    event = {"event": "x", "LName": "Smith", "items": ["born 1913-07-19"]}
    redact_phi(None, "info", event)
    assert event == {"event": "x", "LName": "Smith", "items": ["born 1913-07-19"]}


# ------------------------------------------------------------------ through structlog


@pytest.fixture
def restore_structlog() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def log_lines(restore_structlog: None) -> Iterator[io.StringIO]:
    buf = io.StringIO()
    configure_logging(2, json_lines=True, stream=buf)
    yield buf


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_the_configured_chain_redacts_every_event(log_lines: io.StringIO) -> None:
    log = structlog.get_logger("t")
    log.info("row.quarantined", table="patient", LName="Smith", reason="phone (555) 867-5309",
             cells=["Quinn"], problems=["born 1913-07-19", {"why": "mail a@b.example"}], detail=("ssn 123-45-6789",))
    log.debug("patient Qphitoken at 555.867.5309")
    [first, second] = _lines(log_lines)
    assert first["event"] == "row.quarantined" and first["table"] == "patient" and first["level"] == "info"
    assert first["LName"] == REDACTED and first["cells"] == REDACTED
    assert first["reason"] == f"phone {REDACTED}"
    assert first["problems"] == [f"born {REDACTED}", {"why": f"mail {REDACTED}"}]
    assert first["detail"] == [f"ssn {REDACTED}"]
    assert second["event"] == f"patient Qphitoken at {REDACTED}"
    text = log_lines.getvalue()
    for secret in ("Smith", "867", "1913", "a@b", "6789", "Quinn"):
        assert secret not in text


def test_the_configured_chain_scrubs_tracebacks(log_lines: io.StringIO) -> None:
    log = structlog.get_logger("t")
    try:
        raise ValueError("cannot check patient born 1913-07-19, phone (555) 867-5309, input_value='Quinn Smith'")
    except ValueError:
        log.exception("crashed")
    [line] = _lines(log_lines)
    assert line["event"] == "crashed" and "ValueError" in line["exception"]
    for secret in ("1913", "867-5309", "Quinn"):
        assert secret not in log_lines.getvalue()


def test_the_configured_chain_redacts_bound_and_context_values(log_lines: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(note="Quinn called", contact="jane@mail.example.com")
    try:
        structlog.get_logger("t").bind(where=["(555) 867-5309"]).warning("sync.retry")
    finally:
        structlog.contextvars.clear_contextvars()
    [line] = _lines(log_lines)
    assert line["note"] == REDACTED and line["contact"] == REDACTED and line["where"] == [REDACTED]


def test_capture_logs_with_the_redaction_processor(restore_structlog: None) -> None:
    """redact_phi as an ordinary structlog processor ahead of a capturing one."""
    capture = structlog.testing.LogCapture()
    structlog.configure(processors=[redact_phi, capture])
    structlog.get_logger().warning("sink.failed", path="out/tasks.csv",
                                   errors=["for (555) 867-5309", ("born 1913-07-19",)], Email="q@x.example")
    assert capture.entries == [{"event": "sink.failed", "log_level": "warning", "path": "out/tasks.csv",
                                "errors": [f"for {REDACTED}", [f"born {REDACTED}"]], "Email": REDACTED}]

