"""Named derivations: the few computed fields real exports need.

Each takes its named inputs (already read, looked up and mapped) and the
mapping's settings. A mapping file refers to them by name under ``derive``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pms_bridge.mapping.spec import Settings
from pms_bridge.model.enums import FormKind, ProviderKind, RadiographKind

Derivation = Callable[[dict[str, Any], Settings], Any]
DERIVATIONS: dict[str, tuple[frozenset[str], Derivation, str]] = {}
# What a mapping's form-type map calls a patient form (Open Dental SheetType / EFormType PatientForm).
PATIENT_FORM = "patient_form"


@dataclass(frozen=True)
class Unmapped:
    """A derivation's answer for a practice's own label that no setting maps.

    ``value`` is used as the field's value; the run reports ``label`` under ``setting``
    (the config key that maps it, e.g. ``mapping.settings.radiograph_categories``).
    """

    value: Any
    setting: str
    label: str


OPTIONAL_INPUTS: dict[str, frozenset[str]] = {}  # inputs a mapping may leave out


def derivation(name: str, inputs: set[str], doc: str, optional: set[str] | None = None
               ) -> Callable[[Derivation], Derivation]:
    def register(func: Derivation) -> Derivation:
        DERIVATIONS[name] = (frozenset(inputs), func, doc)
        OPTIONAL_INPUTS[name] = frozenset(optional or ())
        return func

    return register


def _flag(value: Any, settings: Settings) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and str(value) in settings.true_values


def _casefold_lookup(table: dict[str, str], key: Any) -> str | None:
    if key is None:
        return None
    wanted = str(key).strip().casefold()
    for name, value in table.items():
        if name.casefold() == wanted:
            return value
    return None


TIME_INCREMENTS = (5, 10, 15)  # Open Dental's AppointmentTimeIncrement choices


def _increment(inputs: dict[str, Any], settings: Settings) -> int | Unmapped:
    """Minutes per character of a procedure time: the practice's setting, else the PMS preference, else 5."""
    if settings.time_increment is not None:
        return settings.time_increment
    value = inputs.get("increment")
    if value is not None and str(value).strip().isdigit() and int(str(value).strip()) in TIME_INCREMENTS:
        return int(str(value).strip())
    label = "AppointmentTimeIncrement preference not read" if value is None else f"AppointmentTimeIncrement {value}"
    return Unmapped(settings.minutes_per_pattern_char, "mapping.settings.time_increment", label)


@derivation(
    "pattern_minutes",
    {"pattern"},
    "Length from a time pattern: characters x minutes per character (the 'increment' input, e.g. Open Dental's "
    "AppointmentTimeIncrement preference for procedure times; settings: time_increment, minutes_per_pattern_char).",
    optional={"increment"},
)
def pattern_minutes(inputs: dict[str, Any], settings: Settings) -> int | Unmapped | None:
    pattern = inputs["pattern"]
    if pattern is None:
        return None
    if "increment" not in inputs:  # a pattern always in the base unit (Open Dental's appointment.Pattern)
        return len(str(pattern).strip()) * settings.minutes_per_pattern_char
    five = time_pattern(inputs, settings)  # in 5-minute characters
    if isinstance(five, Unmapped):
        return Unmapped(len(five.value or "") * 5, five.setting, five.label)
    return len(five or "") * 5


@derivation(
    "time_pattern",
    {"pattern"},
    "A procedure time pattern (X provider, / assistant) in 5-minute characters, from characters of the "
    "'increment' input's minutes (Open Dental's AppointmentTimeIncrement: 5, 10 or 15).",
    optional={"increment"},
)
def time_pattern(inputs: dict[str, Any], settings: Settings) -> str | Unmapped | None:
    pattern = inputs["pattern"]
    if pattern is None or not str(pattern).strip():
        return None
    text = str(pattern).strip().upper()
    step = _increment(inputs, settings) if "increment" in inputs else settings.minutes_per_pattern_char
    repeat = (step.value if isinstance(step, Unmapped) else step) // 5 or 1
    five = "".join(ch * repeat for ch in text)
    return Unmapped(five, step.setting, step.label) if isinstance(step, Unmapped) else five


@derivation(
    "provider_kind",
    {"hygienist", "specialty"},
    "dentist / hygienist / specialist from a hygienist flag and the specialty name "
    "(settings: specialist_specialties, hygienist_specialties, dentist_specialties; a name none lists "
    "counts as a dentist and is reported).",
)
def provider_kind(inputs: dict[str, Any], settings: Settings) -> str | Unmapped:
    specialty = (inputs.get("specialty") or "").strip()
    folded = specialty.casefold()
    if _flag(inputs.get("hygienist"), settings) or folded in {s.casefold() for s in settings.hygienist_specialties}:
        return ProviderKind.HYGIENIST
    if folded in {s.casefold() for s in settings.specialist_specialties}:
        return ProviderKind.SPECIALIST
    if not specialty or folded in {s.casefold() for s in settings.dentist_specialties}:
        return ProviderKind.DENTIST
    return Unmapped(ProviderKind.DENTIST, "mapping.settings.specialist_specialties", specialty)


NOT_RADIOGRAPHS = "none"  # a category placed as holding no radiographs


def _category_kind(category: str, settings: Settings) -> str | Unmapped:
    """A category's radiograph kind or 'none': listed, else by meaning, else reported."""
    listed = _casefold_lookup(settings.radiograph_categories, category)
    if listed:
        return listed
    for pattern, kind in settings.radiograph_category_patterns.items():
        if re.search(pattern, category, re.IGNORECASE):
            return kind
    return Unmapped(NOT_RADIOGRAPHS, "mapping.settings.radiograph_categories", category)


@derivation(
    "radiograph_kind",
    {"image_type", "category"},
    "Radiograph kind of an image: its category's kind (settings: radiograph_categories, then "
    "radiograph_category_patterns), 'other' for an image typed radiograph in another category, empty otherwise.",
)
def radiograph_kind(inputs: dict[str, Any], settings: Settings) -> str | Unmapped | None:
    category = (inputs.get("category") or "").strip()
    placed = _category_kind(category, settings) if category else NOT_RADIOGRAPHS
    kind = placed.value if isinstance(placed, Unmapped) else placed
    if kind == NOT_RADIOGRAPHS:
        kind = RadiographKind.OTHER if inputs.get("image_type") == "radiograph" else None
    if isinstance(placed, Unmapped) and kind is None:  # an image typed radiograph tells what it is anyway
        return Unmapped(None, placed.setting, placed.label)
    return kind


@derivation(
    "is_radiograph",
    {"image_type", "category"},
    "True for an image typed radiograph or filed in a radiograph category (settings: radiograph_categories, "
    "radiograph_category_patterns).",
)
def is_radiograph(inputs: dict[str, Any], settings: Settings) -> bool | Unmapped:
    kind = radiograph_kind(inputs, settings)
    if isinstance(kind, Unmapped):
        return Unmapped(False, kind.setting, kind.label)
    return kind is not None


@derivation(
    "form_kind",
    {"kind", "title"},
    "registration / health_history / consent / other: the title's kind where form_titles lists it, else the "
    "mapped form type. A patient form (mapped type 'patient_form') is placed by its title's meaning "
    "(form_title_patterns); one nothing places is 'other' and its title is reported.",
)
def form_kind(inputs: dict[str, Any], settings: Settings) -> str | Unmapped:
    title = inputs.get("title")
    by_title = _casefold_lookup(settings.form_titles, title)
    if by_title:
        return by_title
    kind = inputs.get("kind")
    if kind != PATIENT_FORM:
        return str(kind) if kind else FormKind.OTHER
    # Open Dental ships HIPAA, financial and screening forms as patient forms too: the type alone says
    # nothing about registration.
    text = str(title or "").strip()
    for pattern, meaning in settings.form_title_patterns.items():
        if text and re.search(pattern, text, re.IGNORECASE):
            return meaning
    return Unmapped(FormKind.OTHER, "mapping.settings.form_titles", text or "(no title)")


@derivation(
    "prefixed_id",
    {"prefix", "id"},
    "An id kept apart from another table's ids in the same entity: prefix + id (e.g. eform-7); empty id: empty.",
)
def prefixed_id(inputs: dict[str, Any], settings: Settings) -> str | None:
    value = inputs.get("id")
    return None if value is None or not str(value).strip() else f"{inputs.get('prefix') or ''}{str(value).strip()}"


@derivation("first_given", {"first", "second"}, "The first input that is not empty (e.g. a clinic's abbreviation, "
            "else its description).")
def first_given(inputs: dict[str, Any], settings: Settings) -> Any:
    first = inputs.get("first")
    return first if first is not None and str(first).strip() else inputs.get("second")
