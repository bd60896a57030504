"""Task ledger stage: findings become tasks with stable keys and a recorded lifecycle."""

from pms_bridge.ledger.reconcile import LedgerUpdate, Transition, reconcile
from pms_bridge.ledger.repository import HistoryEntry, Ledger, TaskNotFound
from pms_bridge.ledger.task import Task
from pms_bridge.model.vocabulary import TASK_STATUSES as STATUSES

__all__ = ["STATUSES", "HistoryEntry", "Ledger", "LedgerUpdate", "Task", "TaskNotFound", "Transition", "reconcile"]
