"""Named derivations: the few computed fields real exports need.

Each takes its named inputs (already read, looked up and mapped) and the
mapping's settings. A mapping file refers to them by name under ``derive``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pms_bridge.mapping.spec import Settings
from pms_bridge.model.enums import FormKind, ProviderKind, RadiographKind

Derivation = Callable[[dict[str, Any], Settings], Any]
DERIVATIONS: dict[str, tuple[frozenset[str], Derivation, str]] = {}


def derivation(name: str, inputs: set[str], doc: str) -> Callable[[Derivation], Derivation]:
    def register(func: Derivation) -> Derivation:
        DERIVATIONS[name] = (frozenset(inputs), func, doc)
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


@derivation("pattern_minutes", {"pattern"}, "Appointment length from a time pattern: characters x minutes_per_pattern_char.")
def pattern_minutes(inputs: dict[str, Any], settings: Settings) -> int | None:
    pattern = inputs["pattern"]
    if pattern is None:
        return None
    return len(str(pattern).strip()) * settings.minutes_per_pattern_char


@derivation(
    "provider_kind",
    {"hygienist", "specialty"},
    "dentist / hygienist / specialist from a hygienist flag and the specialty name "
    "(settings: specialist_specialties, hygienist_specialties).",
)
def provider_kind(inputs: dict[str, Any], settings: Settings) -> str:
    specialty = (inputs.get("specialty") or "").strip().casefold()
    if _flag(inputs.get("hygienist"), settings) or specialty in {s.casefold() for s in settings.hygienist_specialties}:
        return ProviderKind.HYGIENIST
    if specialty in {s.casefold() for s in settings.specialist_specialties}:
        return ProviderKind.SPECIALIST
    return ProviderKind.DENTIST


@derivation(
    "radiograph_kind",
    {"image_type", "category"},
    "Radiograph kind of an image: its category's kind (settings: radiograph_categories), "
    "'other' for an image typed radiograph in another category, empty otherwise.",
)
def radiograph_kind(inputs: dict[str, Any], settings: Settings) -> str | None:
    by_category = _casefold_lookup(settings.radiograph_categories, inputs.get("category"))
    if by_category:
        return by_category
    if inputs.get("image_type") == "radiograph":
        return RadiographKind.OTHER
    return None


@derivation(
    "is_radiograph",
    {"image_type", "category"},
    "True for an image typed radiograph or filed in a radiograph category (settings: radiograph_categories).",
)
def is_radiograph(inputs: dict[str, Any], settings: Settings) -> bool:
    return radiograph_kind(inputs, settings) is not None


@derivation(
    "form_kind",
    {"kind", "title"},
    "registration / health_history / consent / other: the title's kind (settings: form_titles) "
    "where listed, else the mapped form type.",
)
def form_kind(inputs: dict[str, Any], settings: Settings) -> str:
    by_title = _casefold_lookup(settings.form_titles, inputs.get("title"))
    if by_title:
        return by_title
    kind = inputs.get("kind")
    return str(kind) if kind else FormKind.OTHER
