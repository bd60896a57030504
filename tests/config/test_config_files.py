"""Config files as editors save them: UTF-16 from Notepad, a UTF-8 byte-order mark, or not text at all."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pms_bridge.cli.main import app
from pms_bridge.config import ConfigError, load_config

TEXT = """\
[practice]
name = "Clínica Dental Ñandú"   # not ASCII: the encoding matters
timezone = "America/Chicago"

[source]
connector = "csv"
path = "exports"

[store]
path = "state/store.sqlite"
"""


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),  # Notepad's "Unicode"
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),  # Notepad's "Unicode big endian"
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),  # Notepad's "UTF-8 with BOM"
        TEXT.replace("\n", "\r\n").encode("utf-8"),  # Windows line ends
    ],
    ids=["utf-16-le", "utf-16-be", "utf-8-bom", "crlf"],
)
def test_config_saved_by_windows_editors_is_read(tmp_path: Path, encoded: bytes) -> None:
    path = tmp_path / "practice.toml"
    path.write_bytes(encoded)
    config = load_config(path)
    assert config.practice.name == "Clínica Dental Ñandú"
    assert config.store.path == Path("state/store.sqlite")


def test_a_binary_file_is_a_named_configuration_problem(tmp_path: Path) -> None:
    path = tmp_path / "practice.toml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(ConfigError, match="is not a text file"):
        load_config(path)
    result = CliRunner().invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 2 and "Configuration problem" in result.stderr and "not a text file" in result.stderr
    assert result.stdout == ""


def test_a_windows_1252_file_says_to_save_it_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "practice.toml"
    path.write_bytes(TEXT.encode("cp1252"))
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "is not valid UTF-8 text" in message and "save it as UTF-8" in message


def test_utf16_without_a_byte_order_mark_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "practice.toml"
    path.write_bytes(TEXT.encode("utf-16-le"))
    with pytest.raises(ConfigError, match="UTF-16 without a byte-order mark.*save it as UTF-8"):
        load_config(path)


@pytest.mark.parametrize("key", ["Main Street", "-main", "main/street", "x" * 64, "", "MAIN"])
def test_an_invalid_practice_key_is_a_named_configuration_problem(tmp_path: Path, key: str) -> None:
    path = tmp_path / "practice.toml"
    path.write_text(TEXT.replace('timezone = "America/Chicago"', f'timezone = "America/Chicago"\nkey = "{key}"'),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"practice\.key: use lowercase letters, digits"):
        load_config(path)
    result = CliRunner().invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 2 and "practice.key" in result.stderr and "Unexpected error" not in result.stderr


@pytest.mark.parametrize("key", ["main-street", "main_street_2", "7th-ave", "x" * 63])
def test_a_valid_practice_key_is_kept(tmp_path: Path, key: str) -> None:
    path = tmp_path / "practice.toml"
    path.write_text(TEXT.replace('timezone = "America/Chicago"', f'timezone = "America/Chicago"\nkey = "{key}"'),
                    encoding="utf-8")
    assert load_config(path).practice.practice().key == key
