"""Groups: every location's run as a job on Celery workers sharing one PostgreSQL store (docs/groups.md)."""
