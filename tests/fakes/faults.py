"""Fault storms for the fake Open Dental: a seeded share of requests fails the ways a network and a
busy API fail, including answers lost after the server did the work.

    fake = StormyOpenDental.from_export(folder)
    fake.storm(0.2, seed=4)
    with fake.mock():
        ...

Kinds (STORM_KINDS):
- "500", "502", "503", "504": the API answers an error; nothing was done.
- "connect": the connection is refused or dropped before the request reached the API (ConnectError).
- "lost-timeout": the API did the work (a POST created its row) and the answer never came (ReadTimeout).
- "lost-reset": the API did the work and the connection dropped before the answer (RemoteProtocolError).

A lost answer is what makes a POST dangerous to repeat: the task exists, and the client does not know.
``on_lost`` is called with the kind of each lost answer (a test's clock can charge the read timeout).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from .opendental import FakeOpenDental, Recorded

STORM_KINDS = ("500", "502", "503", "504", "connect", "lost-timeout", "lost-reset")


class StormyOpenDental(FakeOpenDental):
    """The fake Open Dental with a fault storm: ``storm(rate, seed)`` fails that share of requests."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.storm(0.0)
        self.on_lost: Callable[[str], None] | None = None

    def storm(self, rate: float, seed: int = 0, kinds: tuple[str, ...] = STORM_KINDS) -> None:
        unknown = set(kinds) - set(STORM_KINDS)
        if unknown:
            raise ValueError(f"fault kinds {sorted(unknown)} are not among {STORM_KINDS}")
        self._storm_rate, self._storm_rng, self._storm_kinds = rate, random.Random(seed), kinds
        self.faults: Counter[str] = Counter()
        self.lost_answers: list[Recorded] = []  # requests the API carried out whose answer was lost

    def _handle(self, request: httpx.Request) -> httpx.Response:
        kind = (self._storm_rng.choice(self._storm_kinds)
                if self._storm_rate and self._storm_rng.random() < self._storm_rate else None)
        if kind is None:
            return super()._handle(request)
        self.faults[kind] += 1
        if kind.isdigit():
            self.fail_next(1, kind)  # the fake's own error answers (recorded with their status)
            return super()._handle(request)
        if kind == "connect":
            path = request.url.path[len(self._base_path):] or "/"
            self.requests.append(Recorded(request.method, path, dict(request.url.params), None, None))
            raise httpx.ConnectError("fake Open Dental: connection refused", request=request)
        super()._handle(request)  # the work is done; its answer is lost on the way back
        self.lost_answers.append(self.requests[-1])
        if self.on_lost is not None:
            self.on_lost(kind)
        if kind == "lost-timeout":
            raise httpx.ReadTimeout("fake Open Dental: read timed out", request=request)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

