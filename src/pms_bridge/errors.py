"""The kinds of failure every stage reports, and the exit code each kind means.

A stage's exception derives from one of the kinds (``class StoreError(ConfigurationProblem)``), so a
catch site names the kind, not a list of classes, and the command line maps a kind to its exit code
in one place (``pms_bridge.cli.errors``). Messages name keys, files and ids, never patient data.
"""

from __future__ import annotations

from enum import Enum


class ErrorKind(Enum):
    """What went wrong, as other tools see it: (exit code, the label the command line prints)."""

    CONFIGURATION = (2, "Configuration problem")  # the config, a mapping, a connector file, the store's setup
    SOURCE = (3, "Source unreachable")  # nothing could be read: no exports, the API does not answer
    SKIPPED = (4, "Skipped")  # one item or resource could not be read or written; the rest went on

    @property
    def exit_code(self) -> int:
        return self.value[0]

    @property
    def label(self) -> str:
        return self.value[1]


class PmsBridgeError(Exception):
    """Base of the failures pms-bridge expects and explains."""

    kind: ErrorKind


class ConfigurationProblem(PmsBridgeError):
    """Something the integrator must fix in a file before the run can work (exit code 2)."""

    kind = ErrorKind.CONFIGURATION


class SourceUnreachable(PmsBridgeError):
    """The source cannot be read at all (exit code 3)."""

    kind = ErrorKind.SOURCE


class ItemSkipped(PmsBridgeError):
    """One item or resource was skipped; the run goes on and ends partial (exit code 4)."""

    kind = ErrorKind.SKIPPED


def kind_of(exc: BaseException) -> ErrorKind | None:
    """The kind of a failure; None: not one pms-bridge expects (a bug)."""
    return exc.kind if isinstance(exc, PmsBridgeError) else None
