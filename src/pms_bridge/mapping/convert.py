"""Turn source text into the Python type a model field declares.

Converters are built once per field from the model's annotation, so the
types are declared in one place (the model) and every mapping gets them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from pms_bridge.mapping.spec import Settings
from pms_bridge.model.types import base_type

Converter = Callable[[Any], Any]


class ConversionError(ValueError):
    """The text does not fit the field's type (message names the type, not the value)."""


# A time in year 9999 (or on the first days of year 1) is a placeholder, not a moment: it cannot be
# moved to UTC or another zone without leaving the calendar, which would stop the whole run. The
# "no date" values (0001-01-01, 0000-00-00) are the mapping's null_values and never get here.
_FIRST_TIME = datetime(1, 1, 2)
_LAST_TIME = datetime(9998, 12, 31, 23, 59, 59, 999999)
_OUT_OF_RANGE = "a date and time outside years 1 to 9998 (a placeholder such as 9999-12-31, not a real time)"


def _parse_with_formats(text: str, formats: list[str]) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _naive_datetime(text: str, settings: Settings) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    parsed = _parse_with_formats(text, settings.datetime_formats) or _parse_with_formats(text, settings.date_formats)
    if parsed is None:
        raise ConversionError("not a date and time in a known format")
    return parsed


def make_converter(annotation: Any, settings: Settings, tz: ZoneInfo) -> Converter:
    target = base_type(annotation)
    true_values, false_values = frozenset(settings.true_values), frozenset(settings.false_values)

    if target is bool:

        def to_bool(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip()
            if text in true_values:
                return True
            if text in false_values:
                return False
            raise ConversionError("not a yes/no value")

        return to_bool

    if target is int:

        def to_int(value: Any) -> int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            try:
                number = float(str(value).strip())
            except ValueError:
                raise ConversionError("not a whole number") from None
            if not number.is_integer():
                raise ConversionError("not a whole number")
            return int(number)

        return to_int

    if target is Decimal:

        def to_decimal(value: Any) -> Decimal:
            text = str(value).strip().replace(",", "").replace("$", "")
            try:
                return Decimal(text).quantize(Decimal("0.01"))
            except InvalidOperation:
                raise ConversionError("not an amount") from None

        return to_decimal

    if target is datetime:

        def to_datetime(value: Any) -> datetime:
            parsed = value if isinstance(value, datetime) else _naive_datetime(str(value).strip(), settings)
            if parsed.tzinfo is None:  # the common case: one replace, not two
                if not _FIRST_TIME <= parsed <= _LAST_TIME:
                    raise ConversionError(_OUT_OF_RANGE)
                return parsed.replace(tzinfo=tz)
            if not _FIRST_TIME <= parsed.replace(tzinfo=None) <= _LAST_TIME:
                raise ConversionError(_OUT_OF_RANGE)
            return parsed.astimezone(tz)

        return to_datetime

    if target is date:

        def to_date(value: Any) -> date:
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            text = str(value).strip()
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
            try:  # a date and time (Open Dental keeps many dates as DATETIME columns)
                return datetime.fromisoformat(text).date()
            except ValueError:
                pass
            parsed = _parse_with_formats(text, settings.date_formats) or _parse_with_formats(
                text, settings.datetime_formats
            )
            if parsed is None:
                raise ConversionError("not a date in a known format")
            return parsed.date()

        return to_date

    if isinstance(target, type) and issubclass(target, Enum):
        allowed = ", ".join(m.value for m in target)

        def to_enum(value: Any) -> Enum:
            try:
                return target(value)
            except ValueError:
                raise ConversionError(f"not one of: {allowed} (add it to a value map)") from None

        return to_enum

    if target is str:

        def to_str(value: Any) -> str:
            return str(value).strip()

        return to_str

    raise TypeError(f"no converter for {annotation!r}")
