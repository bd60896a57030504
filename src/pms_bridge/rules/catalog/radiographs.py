"""radiographs rules (see DESIGN.md rule catalog)."""

from __future__ import annotations
