"""Fixtures of the group tests: a sample group per test, its workers stopped and its queue deleted after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from group.harness import SampleGroup, delete_queue, make_group


@pytest.fixture
def group_factory(tmp_path: Path, fresh_postgres_url: str) -> Iterator:
    made: list[SampleGroup] = []

    def factory(broker: str, locations: int = 3, patients: int = 60, **queue: object) -> SampleGroup:
        group = make_group(tmp_path / f"group-{len(made) + 1}", fresh_postgres_url, broker, locations, patients,
                           **queue)
        made.append(group)
        return group

    yield factory
    for group in made:
        group.stop_workers()
        delete_queue(group)
