"""Text -> typed values, driven by the model's annotations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pms_bridge.mapping.convert import ConversionError, make_converter
from pms_bridge.mapping.spec import Settings
from pms_bridge.model import Appointment, Claim, Patient
from pms_bridge.model.entities import AwareDatetime
from pms_bridge.model.enums import AppointmentStatus

TZ = ZoneInfo("America/Chicago")
SETTINGS = Settings()


def conv(annotation):  # noqa: ANN001, ANN201
    return make_converter(annotation, SETTINGS, TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02 08:00:00", datetime(2026, 3, 2, 8, 0, tzinfo=TZ)),
        ("3/2/2026 8:00:00 AM", datetime(2026, 3, 2, 8, 0, tzinfo=TZ)),
        ("03/02/2026 14:30", datetime(2026, 3, 2, 14, 30, tzinfo=TZ)),
        ("2026-03-02T14:00:00+00:00", datetime(2026, 3, 2, 8, 0, tzinfo=TZ)),
        ("2026-03-02", datetime(2026, 3, 2, 0, 0, tzinfo=TZ)),
    ],
)
def test_datetimes_are_localized_to_the_practice(text: str, expected: datetime) -> None:
    value = conv(AwareDatetime)(text)
    assert value == expected and value.tzinfo == TZ  # the practice's zone, also for an offset in the text


def test_daylight_saving_boundaries() -> None:
    to_dt = conv(AwareDatetime)
    before, after = to_dt("2026-03-08 01:30:00"), to_dt("2026-03-08 03:30:00")
    assert before.utcoffset() != after.utcoffset()
    # one real hour passed across the spring-forward gap (same-zone subtraction would say two)
    assert (after.astimezone(UTC) - before.astimezone(UTC)).total_seconds() == 3600


@pytest.mark.parametrize(("text", "expected"), [("2026-03-02", date(2026, 3, 2)), ("3/2/2026", date(2026, 3, 2)),
                                                ("2026-03-02 00:00:00", date(2026, 3, 2))])
def test_dates(text: str, expected: date) -> None:
    assert conv(date)(text) == expected


@pytest.mark.parametrize("text", ["2026-02-30", "yesterday", "13/45/2026"])
def test_bad_dates_raise_without_the_value(text: str) -> None:
    with pytest.raises(ConversionError) as exc:
        conv(date)(text)
    assert text not in str(exc.value)


def test_bools_ints_money_and_codes() -> None:
    assert conv(bool)("1") is True and conv(bool)("false") is False
    with pytest.raises(ConversionError):
        conv(bool)("maybe")
    assert conv(int)("60") == 60 and conv(int)("60.0") == 60
    with pytest.raises(ConversionError):
        conv(int)("60.5")
    assert conv(Claim.model_fields["fee"].annotation)("1,200.5") == Decimal("1200.50")
    assert conv(Appointment.model_fields["status"].annotation)("broken") is AppointmentStatus.BROKEN
    with pytest.raises(ConversionError, match="not one of: scheduled"):
        conv(Appointment.model_fields["status"].annotation)("Zyx")


@given(st.text(max_size=40))
def test_untrusted_text_either_converts_or_raises_conversion_error(text: str) -> None:
    for annotation in (AwareDatetime, date, bool, int, Claim.model_fields["fee"].annotation,
                       Patient.model_fields["status"].annotation):
        try:
            conv(annotation)(text)
        except ConversionError as exc:
            # The message never carries the value: it is the same whatever the text was.
            try:
                conv(annotation)("\x00never a value\x00")
            except ConversionError as same:
                assert str(exc) == str(same)
