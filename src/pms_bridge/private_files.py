"""Files that may hold patient data are created readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) as 0700 where missing; existing folders are left as they are."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def private_open(path: Path, encoding: str = "utf-8", newline: str | None = "") -> IO[str]:
    """Open ``path`` for writing (truncating it) as an owner-only (0600) text file."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # an existing file keeps its old mode otherwise
    return os.fdopen(fd, "w", encoding=encoding, newline=newline)
