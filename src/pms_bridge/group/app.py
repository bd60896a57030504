"""The Celery application of a group: one queue per group, jobs that survive a dying worker.

Settings follow Celery's advice for long, idempotent jobs (../shared/reference/groups.md): a message
is acknowledged only when its job ends (``task_acks_late``), a pool process killed mid-job puts the
message back (``task_reject_on_worker_lost``), a worker takes one job at a time
(``worker_prefetch_multiplier = 1``), and no result backend: the shared store holds the outcome.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy.engine import make_url

from pms_bridge.config.group import Group, transport_of
from pms_bridge.config.loader import ConfigError

TASK_NAME = "pms_bridge.run_location"


def _celery() -> Any:
    try:
        import celery
    except ImportError:  # an install without the group extra
        raise ConfigError("groups run on Celery, which is not installed: pip install 'pms-bridge[group]'") from None
    return celery


def broker_url(group: Group) -> str:
    """The broker's URL with its password from the environment variable the group file names."""
    queue = group.settings.queue
    if queue.broker_password_env is None:
        return queue.broker
    password = os.environ.get(queue.broker_password_env)
    if not password:
        raise ConfigError(f"{group.path}: queue.broker_password_env: the environment variable "
                          f"{queue.broker_password_env} is not set (it holds the broker's password)")
    return make_url(queue.broker).set(password=password).render_as_string(hide_password=False)


def shown_broker(group: Group) -> str:
    """The broker's URL for messages: never its password."""
    try:
        return make_url(group.settings.queue.broker).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an odd URL is still named by its scheme
        return group.settings.queue.broker.partition("://")[0] + "://..."


def make_app(group: Group) -> Any:
    """A Celery app for ``group`` with the location job registered (see :mod:`pms_bridge.group.job`)."""
    celery = _celery()
    from pms_bridge.group.job import run_location

    app = celery.Celery(f"pms-bridge-{group.key}", broker=broker_url(group), set_as_current=False)
    queue = group.settings.queue
    app.conf.update(
        task_default_queue=group.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        # A location's run is long: the broker must not redeliver it while it is still going.
        broker_transport_options=(
            {"visibility_timeout": int(queue.visibility_timeout_hours * 3600)}
            if transport_of(queue.broker) == "redis" else {}
        ),
        broker_heartbeat=60,
    )
    app.pms_bridge_group = group  # the job reads its group here (the worker was started with it)
    app.task(name=TASK_NAME, bind=True, acks_late=True, max_retries=None)(run_location)
    return app
