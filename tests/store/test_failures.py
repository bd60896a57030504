"""Every ordinary store failure is named with what to do (exit 2) or as unreachable (exit 3), never a bug."""

from __future__ import annotations

import errno
import os
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

from pms_bridge.errors import ErrorKind, kind_of
from pms_bridge.model import Patient, Practice
from pms_bridge.store import Store, StoreBusy, StoreError, StoreUnreachable
from pms_bridge.store import engine as store_engine
from pms_bridge.store import errors as store_errors


def _store_file(tmp_path: Path, practice: Practice) -> Path:
    path = tmp_path / "store.sqlite"
    Store.open(f"sqlite:///{path}", practice).close()
    return path


def _patients(n: int) -> list[Patient]:
    return [Patient(source_id=str(i), last_name="Synthlast", first_name="Syn", birth_date=date(1990, 1, 2),
                    status="patient") for i in range(n)]


def _exit_code(exc: BaseException) -> int:
    kind = kind_of(exc)
    assert kind is not None, f"{type(exc).__name__} would be reported as a bug"
    return kind.exit_code


def test_a_store_path_that_is_a_folder(tmp_path: Path, practice: Practice) -> None:
    with pytest.raises(StoreError, match=r"is a folder, not a file: set \[store\] path to a file name") as failure:
        Store.open(f"sqlite:///{tmp_path}", practice)
    assert _exit_code(failure.value) == 2


def test_a_store_under_a_file_not_a_folder(tmp_path: Path, practice: Practice) -> None:
    (tmp_path / "state").write_text("not a folder")
    with pytest.raises(StoreError, match=r"lies under a file, not a folder .*: fix \[store\] path"):
        Store.open(f"sqlite:///{tmp_path / 'state' / 'store.sqlite'}", practice)


def test_a_store_path_too_long_for_the_file_system_is_named_without_printing_it(
    tmp_path: Path, practice: Practice
) -> None:
    long_path = tmp_path / ("s" * 5000 + ".sqlite")
    with pytest.raises(StoreError, match=r"named in \[store\] \(5,\d{3} characters\): the name is too long") as failure:
        Store.open(f"sqlite:///{long_path}", practice)
    assert _exit_code(failure.value) == 2 and "sssss" not in str(failure.value)


def test_a_store_path_in_a_loop_of_links(tmp_path: Path, practice: Practice) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(StoreError, match=r"lies under a file, not a folder \(or under a broken or looping link\)") \
            as failure:
        Store.open(f"sqlite:///{tmp_path / 'a' / 'store.sqlite'}", practice)
    assert _exit_code(failure.value) == 2


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_a_store_file_that_cannot_be_created(
    tmp_path: Path, practice: Practice, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    # Tests run as root, whom file modes do not stop: the refusal is made where the OS would make it,
    # in the one os.open that creates the store file.
    def refuse(path: str, flags: int, mode: int = 0o777) -> int:
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(store_engine.os, "open", refuse)
    with pytest.raises(StoreError, match=r"cannot be written \(a read-only file, folder or disk\): give the account"):
        Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}", practice)


def test_a_store_file_that_cannot_be_secured(tmp_path: Path, practice: Practice,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = _store_file(tmp_path, practice)
    path.chmod(0o644)  # someone widened it; another account owns it, so this one may not chmod it back

    def refuse(self: Path, mode: int, **_: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted", str(self))

    monkeypatch.setattr(Path, "chmod", refuse)
    with pytest.raises(StoreError, match=r"store.sqlite cannot be written") as failure:
        Store.open(f"sqlite:///{path}", practice)
    assert _exit_code(failure.value) == 2


def test_a_read_only_store_file(tmp_path: Path, practice: Practice) -> None:
    # SQLite opens a file it may not write read-only, and refuses the first write (SQLITE_READONLY).
    # As root no file mode forces that, so the store is opened read-only by URI: the same SQLite path.
    path = _store_file(tmp_path, practice)
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    store_errors.install(engine)
    store = Store.__new__(Store)
    with pytest.raises(StoreError, match=rf"the store file file:{path} cannot be written \(a read-only") as failure:
        Store.__init__(store, engine, Practice(key="other", name="Other", timezone="America/Chicago"))
    assert _exit_code(failure.value) == 2


def test_a_full_disk_is_named_in_any_store_method(tmp_path: Path, practice: Practice) -> None:
    # SQLite says SQLITE_FULL both for a full disk and for a database at its page limit: the limit is
    # the way to make SQLite itself fail with it.
    store = Store.open(f"sqlite:///{_store_file(tmp_path, practice)}", practice)
    try:
        pages = store.engine.connect().exec_driver_sql("PRAGMA page_count").scalar_one()

        @event.listens_for(store.engine, "connect")
        def cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count={pages + 2}")

        store.engine.dispose()
        with pytest.raises(StoreError, match=r"the disk holding the store file .* is full: free space on it") as full:
            store.upsert_records("patient", _patients(2000), run_id=1)
        assert _exit_code(full.value) == 2
        assert "Synthlast" not in str(full.value)
    finally:
        store.close()


def test_a_file_that_is_not_a_database(tmp_path: Path, practice: Practice) -> None:
    path = tmp_path / "store.sqlite"
    path.write_text("patient list, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"is damaged or not a pms-bridge store .*restore it from a backup") as bad:
        Store.open(f"sqlite:///{path}", practice)
    assert _exit_code(bad.value) == 2
    assert path.read_bytes() == before


def test_a_truncated_store(tmp_path: Path, practice: Practice) -> None:
    path = _store_file(tmp_path, practice)
    store = Store.open(f"sqlite:///{path}", practice)
    store.upsert_records("patient", _patients(500), run_id=1)
    store.close()
    size = path.stat().st_size
    with path.open("r+b") as f:  # a copy cut short
        f.truncate(size // 3)
    with pytest.raises(StoreError, match=r"is damaged or not a pms-bridge store \(cut short"):
        store = Store.open(f"sqlite:///{path}", practice)
        store.rows("patient")


def test_a_corrupted_store(tmp_path: Path, practice: Practice) -> None:
    path = _store_file(tmp_path, practice)
    store = Store.open(f"sqlite:///{path}", practice)
    store.upsert_records("patient", _patients(500), run_id=1)
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # every page but the first scribbled over
        data[start + 8 : start + 64] = b"\xa5" * 56
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"is damaged or not a pms-bridge store"):
        store = Store.open(f"sqlite:///{path}", practice)
        store.rows("patient")


def test_a_store_locked_by_another_process_is_waited_for_then_named(
    tmp_path: Path, practice: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_errors, "busy_timeout_s", 0.05)  # the bounded wait, shortened
    path = _store_file(tmp_path, practice)
    store = Store.open(f"sqlite:///{path}", practice)
    other = sqlite3.connect(path, isolation_level=None)  # another program writing the file
    try:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreBusy, match=r"is locked by another process \(waited 0.05 s\); try again") as locked:
            store.set_cursor("appointment", "2026-03-01", run_id=1)
        assert _exit_code(locked.value) == 3
        other.execute("ROLLBACK")
        store.set_cursor("appointment", "2026-03-01", run_id=1)  # free again
        assert store.get_cursor("appointment") == "2026-03-01"
    finally:
        other.close()
        store.close()


def test_a_locked_store_names_the_pms_bridge_run_that_holds_it(
    tmp_path: Path, practice: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_errors, "busy_timeout_s", 0.05)
    path = _store_file(tmp_path, practice)
    running, second = Store.open(f"sqlite:///{path}", practice), Store.open(f"sqlite:///{path}", practice)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        with running.hold("run"):
            writer.execute("BEGIN IMMEDIATE")  # the run is in the middle of a write
            with pytest.raises(StoreBusy, match=rf"held by `pms-bridge run` \(pid {os.getpid()} on host "):
                second.start_run("check", None)  # a command that did not take the run lock
            writer.execute("ROLLBACK")
    finally:
        writer.close()
        running.close()
        second.close()


@pytest.mark.parametrize("url", ["mysql://u@db.test/od", "oracle://db.test/x", "ftp://files.test/store.sqlite"])
def test_a_store_url_with_an_unknown_scheme(url: str, practice: Practice) -> None:
    scheme = url.split(":")[0]
    with pytest.raises(StoreError, match=rf"scheme '{scheme}' is not one pms-bridge stores in: use postgresql://"):
        Store.open(url, practice)


def test_a_store_url_that_is_no_url(practice: Practice) -> None:
    with pytest.raises(StoreError, match=r"is not a database URL: write sqlite:///PATH or postgresql://"):
        Store.open("state/store.sqlite", practice)


def test_a_store_server_that_is_down(practice: Practice) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreUnreachable, match=r"the store database pmsb on 127.0.0.1:9 does not answer") as down:
        Store.open("postgresql://pmsbridge:s3cret@127.0.0.1:9/pmsb?connect_timeout=2", practice)
    assert _exit_code(down.value) == 3
    assert "s3cret" not in str(down.value)


@pytest.mark.postgres
def test_a_store_database_that_does_not_exist(postgres_url: str, practice: Practice) -> None:
    url = make_url(postgres_url).set(database="pmsb_no_such_database").render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=r"pmsb_no_such_database .*does not exist on the server: create it") as gone:
        Store.open(url, practice)
    assert _exit_code(gone.value) == 2


def test_every_named_failure_has_its_exit_code() -> None:
    assert kind_of(StoreError("x")) is ErrorKind.CONFIGURATION
    assert kind_of(StoreUnreachable("x")) is ErrorKind.SOURCE
    assert kind_of(StoreBusy("x")) is ErrorKind.SOURCE


def test_a_reader_opens_a_store_another_process_is_writing(tmp_path: Path, practice: Practice,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_errors, "busy_timeout_s", 0.05)
    path = _store_file(tmp_path, practice)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a run in the middle of a write: opening to read needs no write
        store = Store.open(f"sqlite:///{path}", practice)
        assert store.list_runs() == []
        store.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
