"""One error taxonomy: every expected failure has a kind, and each kind one exit code."""

from __future__ import annotations

import pytest
import typer

from pms_bridge.cli.errors import handle_errors
from pms_bridge.config import ConfigError
from pms_bridge.connectors import ConnectorSpecError, SourceFileError, SourceUnavailable
from pms_bridge.connectors.api_client import ApiConfigError, ApiRequestError, ApiUnavailable
from pms_bridge.errors import ErrorKind, ItemSkipped, kind_of
from pms_bridge.mapping import FileLevelError, MappingError
from pms_bridge.rules import RuleConfigError
from pms_bridge.rules.clinics import UnknownClinic
from pms_bridge.store import StoreError


def test_the_exit_codes_other_tools_rely_on() -> None:
    assert {k: k.exit_code for k in ErrorKind} == {
        ErrorKind.CONFIGURATION: 2, ErrorKind.SOURCE: 3, ErrorKind.SKIPPED: 4,
    }


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConfigError("x"), ErrorKind.CONFIGURATION),
        (MappingError("x"), ErrorKind.CONFIGURATION),
        (ConnectorSpecError("x"), ErrorKind.CONFIGURATION),
        (StoreError("x"), ErrorKind.CONFIGURATION),
        (ApiConfigError("x"), ErrorKind.CONFIGURATION),
        (RuleConfigError("x"), ErrorKind.CONFIGURATION),
        (UnknownClinic("x"), ErrorKind.CONFIGURATION),
        (SourceUnavailable("x"), ErrorKind.SOURCE),
        (ItemSkipped("x"), ErrorKind.SKIPPED),
        (ApiRequestError("x"), ErrorKind.SKIPPED),
        (SourceFileError("x"), ErrorKind.SKIPPED),
        (FileLevelError("x"), ErrorKind.SKIPPED),
        (ApiUnavailable("x"), ErrorKind.SOURCE),
        (KeyError("x"), None),
    ],
)
def test_every_expected_failure_has_its_kind(exc: Exception, kind: ErrorKind | None) -> None:
    assert kind_of(exc) is kind


@pytest.mark.parametrize(("exc", "code"), [(StoreError("newer"), 2), (SourceUnavailable("gone"), 3),
                                           (ItemSkipped("one"), 4), (KeyError("Smith"), 1)])
def test_the_command_line_exits_with_the_kinds_code(exc: Exception, code: int,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    @handle_errors
    def command() -> None:
        raise exc

    with pytest.raises(typer.Exit) as raised:
        command()
    assert raised.value.exit_code == code
    assert "Smith" not in capsys.readouterr().err  # an unexpected error's message is never shown
