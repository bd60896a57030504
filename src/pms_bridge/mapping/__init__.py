"""Mapping stage: declarative per-PMS files that turn source rows into normalized records."""

from pms_bridge.mapping.compile import BoundResource, CompiledResource, LookupTables, UnmappedLabels
from pms_bridge.mapping.errors import FieldError, FileLevelError, MappingError
from pms_bridge.mapping.loader import load_mapping
from pms_bridge.mapping.spec import MappingFile, MappingOverrides

__all__ = [
    "BoundResource",
    "CompiledResource",
    "FieldError",
    "FileLevelError",
    "LookupTables",
    "MappingError",
    "MappingFile",
    "MappingOverrides",
    "UnmappedLabels",
    "load_mapping",
]
