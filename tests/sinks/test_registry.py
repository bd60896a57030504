"""A sink is one object registered in one place: config validation, the pipeline, the CLI and the
config's JSON Schema follow from the registry. A throwaway sink, registered here only, proves it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from odexport import csv_config, mini_practice, write_export
from pydantic import BaseModel, ConfigDict, Field

from pms_bridge.config import Config, ConfigError, load_config
from pms_bridge.ledger import Task
from pms_bridge.pipeline import run_sync
from pms_bridge.sinks import render
from pms_bridge.sinks.registry import (
    SinkContext,
    SinkResult,
    get_sink,
    register,
    sink_names,
    task_list_formats,
    unregister,
)

AS_OF_TEXT = "2026-03-02T08:00"
SHIPPED = ["json", "csv", "html", "opendental-tasks", "opendental-commlog", "report"]


class CounterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    label: str = Field(description="A name for this counter.")


@dataclass
class Counter:
    """Counts the open tasks it is given into a list."""

    name: str = "counter"
    settings: type[BaseModel] = CounterSettings
    writes_pms: bool = False
    calls: list[tuple[str, list[str], bool]] = field(default_factory=list)  # (label, open keys, had meta)
    order: list[str] = field(default_factory=list)

    def push(self, tasks: list[Task], context: SinkContext) -> SinkResult:
        open_keys = sorted(t.key for t in tasks if t.status == "open")
        self.calls.append((context.settings.label, open_keys, context.meta is not None))
        self.order.append(self.name)
        return SinkResult(self.name, context.settings.label, len(open_keys))


@pytest.fixture
def counters() -> Iterator[tuple[Counter, Counter]]:
    order: list[str] = []
    files, pms = Counter(order=order), Counter(name="fake-pms", writes_pms=True, order=order)
    register(files)
    register(pms)
    try:
        yield files, pms
    finally:
        unregister(files.name)
        unregister(pms.name)
    assert "counter" not in sink_names() and "fake-pms" not in sink_names()


def _config(tmp_path: Path, sinks: str) -> Path:
    config = csv_config(tmp_path, write_export(tmp_path / "exports", mini_practice()))
    config.write_text(config.read_text(encoding="utf-8") + sinks, encoding="utf-8")
    return config


SINKS = """
[[sinks]]
type = "counter"
label = "morning"
[[sinks]]
type = "json"
path = "out/tasks.json"
[[sinks]]
type = "fake-pms"
label = "pms"
"""


def test_a_registered_sink_is_configured_and_called_with_the_open_tasks(
    tmp_path: Path, counters: tuple[Counter, Counter]
) -> None:
    from pms_bridge.pipeline import parse_as_of

    files, pms = counters
    cfg = load_config(_config(tmp_path, SINKS))
    report = run_sync(cfg, parse_as_of(AS_OF_TEXT, cfg), check=True)
    assert report.checks is not None
    expected = sorted({f.key for f in report.checks.findings})
    # the mini practice's
    assert expected == ["APT001:appointment:501", "FRM002:patient:101", "REF002:referral:1", "XR001:patient:101"]
    assert report.tasks is not None and report.tasks.open_tasks == 4
    (label, keys, had_meta), = files.calls
    assert (label, keys, had_meta) == ("morning", expected, True)
    assert pms.calls == [("pms", expected, False)]
    # The sink that writes the PMS runs first, though it is listed last.
    assert files.order == ["fake-pms", "counter"]
    delivered = [(s.type, s.target, s.tasks) for s in report.tasks.sinks]
    assert delivered[0] == ("fake-pms", "pms", len(expected)) and ("counter", "morning", len(expected)) in delivered
    assert (tmp_path / "out" / "tasks.json").is_file()


def test_a_registered_sinks_keys_are_checked_at_config_load(tmp_path: Path, counters: tuple[Counter, Counter]) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_config(tmp_path, '[[sinks]]\ntype = "counter"\nlabl = "x"\n'))
    message = str(exc.value)
    assert "sinks.0.labl: Extra inputs are not permitted. Check the spelling; a counter sink takes: type, label" in message
    assert "sinks.0.label: Field required" in message


def test_an_unregistered_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(_config(tmp_path, '[[sinks]]\ntype = "counter"\nlabel = "x"\n'))
    assert "sinks.0.type: Input should be 'json', 'csv', 'html', 'opendental-tasks', 'opendental-commlog' or 'report'" in str(
        exc.value
    )


def test_the_shipped_sinks_are_registered() -> None:
    assert sink_names() == SHIPPED
    assert task_list_formats() == ["json", "csv", "html"]
    assert [get_sink(n).writes_pms for n in SHIPPED] == [False, False, False, True, True, False]
    with pytest.raises(ValueError, match="already registered"):
        register(Counter(name="html"))
    with pytest.raises(ValueError, match="unknown task list format 'opendental-tasks'"):
        render("opendental-tasks", [], None)  # type: ignore[arg-type]


def test_the_config_schema_documents_every_sink_and_its_keys(counters: tuple[Counter, Counter]) -> None:
    schema = Config.model_json_schema()
    sink = schema["$defs"]["SinkSection"]
    assert sink["properties"]["type"]["enum"] == [*SHIPPED, "counter", "fake-pms"]
    variants = {v["title"]: v["allOf"][0] for v in sink["oneOf"]}
    assert {"path", "status"} <= set(variants["html"]["properties"])
    assert {"user_num", "task_lists"} <= set(variants["opendental-tasks"]["properties"])
    assert "comm_type" in variants["opendental-commlog"]["properties"]
    assert "label" in variants["counter"]["properties"]
