"""Commands that read the store say so when the latest run did not finish (its data may be half-updated)."""

from __future__ import annotations

from rich.console import Console

from pms_bridge.config import Config
from pms_bridge.store import RunRecord, Store

_WHAT = {
    "running": "has not finished (it is still running, or it stopped without a trace)",
    "interrupted": "was interrupted",
}


def unfinished_warning(run: RunRecord | None) -> str | None:
    """One line for people; None when the latest run finished."""
    if run is None:
        return None
    what = _WHAT.get(run.status, f"did not finish ({run.status})")
    return (
        f"Warning: the latest run (run {run.id}, {run.command}, started {run.started_at:%Y-%m-%d %H:%M} UTC) "
        f"{what}: what is stored may be partly updated. The next `pms-bridge run` completes it."
    )


def warn_about(store: Store, console: Console) -> RunRecord | None:
    """Print the warning (stderr console) when the latest run did not finish; returns that run."""
    run = store.unfinished_run()
    line = unfinished_warning(run)
    if line:
        console.print(line, style="yellow", soft_wrap=True, markup=False)
    return run


def warn_if_unfinished(config: Config, console: Console) -> RunRecord | None:
    store = Store.open(config.store_url(), config.practice.practice())
    try:
        return warn_about(store, console)
    finally:
        store.close()
