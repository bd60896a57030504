"""The group file: many locations' nightly runs on Celery workers, one shared PostgreSQL store.

A group file names the shared store, the queue's broker and the locations, each an ordinary practice
config (relative to the group file) whose own ``[store]`` is replaced by the group's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pms_bridge.config.loader import ConfigError, load_config, read_toml
from pms_bridge.config.models import Config, _check_env_name
from pms_bridge.model.practice import practice_key
from pms_bridge.model.validation import format_validation_errors

BROKER_SCHEMES = ("amqp", "amqps", "pyamqp", "redis", "rediss")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupSection(_Section):
    name: str = Field(min_length=1, description="The group's name, e.g. \"Bright Smiles Group\".")
    key: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Id of the group (its queue's name and its runs in the store); default: from the name.",
    )
    stale_after_hours: float = Field(
        default=30, gt=0,
        description="`pms-bridge group status` flags a location whose newest data is older than this.",
    )


class GroupStoreSection(_Section):
    url: str = Field(description="The shared PostgreSQL store, e.g. postgresql://pmsb@db/pms_bridge (its password "
                     "from PGPASSWORD or ~/.pgpass); every location's [store] is replaced by it.")

    @field_validator("url")
    @classmethod
    def _postgres(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("give a PostgreSQL URL, e.g. postgresql://pmsb@db/pms_bridge") from None
        if url.get_backend_name() != "postgresql":
            raise ValueError("a group's store is a PostgreSQL server every worker reaches (a SQLite file cannot be "
                             "shared between machines): postgresql://USER@HOST/DATABASE")
        return value


class QueueSection(_Section):
    broker: str = Field(description="The Celery broker: amqp://USER@HOST:5672// (RabbitMQ, recommended) or "
                        "redis://HOST:6379/0.")
    broker_password_env: str | None = Field(
        default=None, description="Environment variable holding the broker's password (kept out of this file).")
    retries: int = Field(default=3, ge=0, le=20, description="Times a location's run is retried after a transient "
                         "failure (its PMS or the store unreachable) before it is reported failed.")
    retry_backoff_seconds: float = Field(default=60, gt=0, description="Wait before the first retry; it doubles "
                                         "with each retry (at most 30 minutes).")
    busy_wait_minutes: float = Field(default=240, gt=0, description="How long a location's job waits for another "
                                     "run of the same location (an overlapping group run, a manual run) to end.")
    busy_poll_seconds: float = Field(default=30, gt=0, le=600, description="While the location is busy, how "
                                     "often its job looks again.")
    lost_worker_limit: int = Field(default=3, ge=1, le=20, description="A job whose worker died this many times "
                                   "(killed, out of memory) is reported failed instead of being started again.")
    visibility_timeout_hours: float = Field(
        default=12, gt=0, description="Redis brokers only: a job not acknowledged within this time is delivered "
        "again; keep it above the longest location run (RabbitMQ redelivers as soon as a worker's connection drops).")

    @field_validator("broker")
    @classmethod
    def _scheme(cls, value: str) -> str:
        scheme = value.partition("://")[0].lower()
        if "://" not in value or scheme not in BROKER_SCHEMES:
            raise ValueError("give the broker's URL: amqp://USER@HOST:5672// (RabbitMQ) or redis://HOST:6379/0")
        return value

    _env = field_validator("broker_password_env")(_check_env_name)


class LocationEntry(_Section):
    config: Path = Field(description="A practice config file, relative to the group file.")


class GroupFile(_Section):
    group: GroupSection
    store: GroupStoreSection
    queue: QueueSection
    locations: list[LocationEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Location:
    key: str  # the practice key: the location's id in the store, the queue's messages and the summaries
    config_path: Path
    config: Config


@dataclass(frozen=True)
class Group:
    path: Path
    key: str
    settings: GroupFile
    locations: dict[str, Location]  # by key, in the file's order

    @property
    def name(self) -> str:
        return self.settings.group.name

    @property
    def store_url(self) -> str:
        return self.settings.store.url

    @property
    def queue(self) -> str:
        """The Celery queue of this group's jobs: groups may share a broker, and two groups of one key (a
        trial and production, say) that keep different stores never take each other's jobs."""
        url = make_url(self.store_url)
        store = hashlib.sha256(f"{url.host}:{url.port or 5432}/{url.database}".encode()).hexdigest()[:8]
        return f"pms-bridge.{self.key}.{store}"

    def pick(self, keys: list[str] | None) -> list[Location]:
        """The named locations (all when none are named); an unknown key is a config error naming the known."""
        if not keys:
            return list(self.locations.values())
        unknown = [k for k in keys if k not in self.locations]
        if unknown:
            raise ConfigError(f"{self.path}: no location {', '.join(map(repr, unknown))} in the group; its "
                              f"locations: {', '.join(self.locations)}")
        return [self.locations[k] for k in dict.fromkeys(keys)]


def load_group(path: Path | str) -> Group:
    """Read and validate a group file and every location's config (with the group's store)."""
    path = Path(path)
    raw = read_toml(path, f"group file {path} not found (see docs/groups.md)")
    try:
        settings = GroupFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(str(path), exc, model=GroupFile, what=" in the group file")) from None
    base = path.resolve().parent
    locations: dict[str, Location] = {}
    for i, entry in enumerate(settings.locations):
        config_path = entry.config if entry.config.is_absolute() else base / entry.config
        if not config_path.is_file():
            raise ConfigError(f"{path}: locations[{i}].config: no practice config at {config_path} (paths are "
                              "relative to the group file)")
        config = load_config(config_path, store_url=settings.store.url)
        key = config.practice.practice().key
        if key in locations:
            raise ConfigError(f"{path}: locations[{i}] ({config_path.name}) has the practice key {key!r} of "
                              f"{locations[key].config_path.name}: give one of them [practice] key = \"...\"")
        locations[key] = Location(key, config_path, config)
    return Group(path=path.resolve(), key=settings.group.key or practice_key(settings.group.name),
                 settings=settings, locations=locations)


Transport = Literal["amqp", "redis"]


def transport_of(broker: str) -> Transport:
    return "redis" if broker.lower().startswith("redis") else "amqp"
