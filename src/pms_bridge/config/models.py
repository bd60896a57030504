"""The practice configuration file (one TOML file per practice)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pms_bridge.mapping.spec import MappingOverrides
from pms_bridge.model.practice import Practice, check_timezone, practice_key
from pms_bridge.model.vocabulary import Role, TaskStatus


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PracticeSection(_Section):
    name: str = Field(min_length=1)
    timezone: str = Field(description="IANA timezone, e.g. America/Chicago; --as-of without an offset is local time.")
    key: str | None = Field(default=None, description="Id of the practice in a shared store; default: from the name.")
    clinics: list[str | int] | None = Field(
        default=None,
        description="Multi-clinic offices: the clinics whose appointments and patients make tasks, each by its "
        "abbreviation or description (e.g. \"Main St\") or its number (ClinicNum, e.g. 3; 0: records with no "
        "clinic). A task about an appointment goes by the appointment's clinic, else by the patient's. Default: "
        "every clinic. A name or number that matches no clinic in the data stops the run.",
    )

    _timezone = field_validator("timezone")(check_timezone)

    @field_validator("key")
    @classmethod
    def _key(cls, key: str | None) -> str | None:
        # The same rule the store applies (Practice.key), checked here so it is named as a config problem.
        if key is not None:
            try:
                Practice(key=key, name="-", timezone="UTC")
            except ValidationError:
                raise ValueError(
                    "use lowercase letters, digits, '-' or '_', starting with a letter or digit, at most 63 "
                    "characters (e.g. main-street)"
                ) from None
        return key

    @field_validator("clinics")
    @classmethod
    def _clinics(cls, clinics: list[str | int] | None) -> list[str | int] | None:
        if clinics is None:
            return None
        if not clinics:
            raise ValueError("list at least one clinic, or leave 'clinics' out to check every clinic")
        seen: set[str] = set()
        for clinic in clinics:
            if isinstance(clinic, int) and clinic < 0:
                raise ValueError(f"clinic number {clinic} must be 0 or more")
            if isinstance(clinic, str) and not clinic.strip():
                raise ValueError("a clinic name must not be empty")
            folded = str(clinic).strip().casefold()
            if folded in seen:
                raise ValueError(f"clinic {clinic!r} is listed twice")
            seen.add(folded)
        return clinics

    def practice(self) -> Practice:
        return Practice(key=self.key or practice_key(self.name), name=self.name, timezone=self.timezone)


SHIPPED_CONNECTORS = ("csv", "opendental-csv", "opendental-api", "opendental-db")
DATABASE_CONNECTORS = ("opendental-db",)
DATABASE_SCHEMES = ("mysql", "mariadb")  # pms-bridge picks the driver
DATABASE_KEYS = ("url", "password_env", "ssl", "ssl_ca", "ssl_verify")
ENV_KEY = re.compile(r"^[a-z][a-z0-9_]*_env$")  # a key naming the environment variable that holds a secret


def _check_database_url(value: str) -> str:
    """mysql://USER@HOST[:PORT]/DATABASE: no driver name, no password, nothing after the database."""
    example = "mysql://pmsb_reader@od-server:3306/opendental"
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(f"give the database's address as {example}") from None
    if url.drivername not in DATABASE_SCHEMES:
        raise ValueError(f"start it with mysql:// or mariadb://, e.g. {example} (pms-bridge picks the driver: "
                         "write no driver name)")
    if url.password is not None:
        raise ValueError("put the password in the environment variable named by password_env, not in the url")
    missing = [part for part, got in (("a user", url.username), ("a host", url.host), ("a database", url.database))
               if not got]
    if missing:
        raise ValueError(f"name {' and '.join(missing)}, e.g. {example}")
    if url.query:
        raise ValueError("nothing after the database name: TLS is set with the [source] keys ssl, ssl_ca and "
                         "ssl_verify")
    return value


def _check_env_name(value: str | None) -> str | None:
    if value is not None and not value.replace("_", "").isalnum():
        raise ValueError("must be the NAME of an environment variable (letters, digits, _), not the key itself")
    return value


class SourceSection(_Section):
    """Where the data comes from. A connector of your own (a `.toml` file, relative to the config) may
    name its secrets' environment variables with keys of its choosing that end in `_env`."""

    connector: str = Field(
        description="A shipped connector (csv, opendental-csv, opendental-api, opendental-db) or the path to a "
        "connector .toml of your own, relative to this file.",
    )
    mapping: str | None = Field(default=None, description="Shipped mapping name or path to a mapping .toml.")
    path: Path | None = Field(default=None, description="Folder of exported files (csv connectors).")
    base_url: str | None = None
    mode: Literal["cloud", "service"] | None = None
    read_route: Literal["resources", "query"] | None = None
    developer_key_env: str | None = Field(default=None, description="Name of the env variable holding the key.")
    customer_key_env: str | None = Field(default=None, description="Name of the env variable holding the key.")
    export_mode: Literal["full", "changes"] = Field(
        default="full",
        description="'full': each file is the whole table, so rows missing from it were deleted in the PMS "
        "and leave the snapshot; 'changes': files hold only changed rows.",
    )
    max_removal_fraction: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="A full export that would remove more than this share of a table's stored rows "
        "(and more than 20 rows) is taken for a truncated export: nothing is removed and the run warns.",
    )
    page_size: int | None = Field(default=None, ge=1, le=10000)
    min_request_interval: float | None = Field(default=None, ge=0, description="Seconds between API requests.")
    timeout: float | None = Field(
        default=None, gt=0,
        description="Seconds before one API request gives up (then retried). Default: the mode's "
        "(Open Dental: cloud 60, the local API Service 20).",
    )
    insecure_local_tls: bool = Field(
        default=False,
        description="Turn off TLS certificate checks; accepted only for a loopback base_url (localhost, "
        "127.0.0.0/8, ::1), e.g. a test server. Never for a real office.",
    )
    url: str | None = Field(
        default=None,
        description="opendental-db: the database, mysql://USER@HOST:PORT/DATABASE (or mariadb://); never the "
        "password, which goes in the environment variable password_env names.",
    )
    password_env: str | None = Field(
        default=None,
        description="opendental-db: name of the environment variable (or OS keyring entry) holding the database "
        "account's password. Leave it out for an account without a password.",
    )
    ssl: bool | None = Field(
        default=None,
        description="opendental-db: connect with TLS, verifying the server against the system's certificate "
        "authorities (implied by ssl_ca).",
    )
    ssl_ca: Path | None = Field(
        default=None,
        description="opendental-db: a PEM file of the certificate authority that signed the server's certificate, "
        "relative to this file; turns TLS on.",
    )
    ssl_verify: bool = Field(
        default=True,
        description="opendental-db: verify the server's certificate and name. false is accepted with a warning in "
        "every run's summary (the connection is encrypted but could be intercepted).",
    )
    secret_env: dict[str, str] = Field(
        default_factory=dict,
        description="For a connector file of your own: `<name>_env` keys written in [source] (e.g. "
        "api_key_env = \"ACME_API_KEY\") name the environment variables of the secrets it declares.",
    )

    @field_validator("connector")
    @classmethod
    def _known_connector(cls, value: str) -> str:
        if value in SHIPPED_CONNECTORS or value.endswith(".toml"):
            return value
        raise ValueError(f"Input should be {', '.join(repr(c) for c in SHIPPED_CONNECTORS)} or the path to a "
                         "connector .toml of your own")

    @field_validator("developer_key_env", "customer_key_env", "password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        return _check_env_name(value)

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_database_url(value)

    @property
    def tls(self) -> bool:
        """Whether the database connection must use TLS."""
        return bool(self.ssl or self.ssl_ca is not None)

    @model_validator(mode="before")
    @classmethod
    def _own_secret_names(cls, data: Any) -> Any:
        """`<name>_env` keys a connector file of your own declares go to `secret_env` (unknown keys stay errors)."""
        if not isinstance(data, dict):
            return data
        own = {k: v for k, v in data.items() if k not in cls.model_fields and ENV_KEY.match(str(k))}
        if not own:
            return data
        rest = {k: v for k, v in data.items() if k not in own}
        return {**rest, "secret_env": {**(rest.get("secret_env") or {}), **own}}

    @field_validator("secret_env")
    @classmethod
    def _env_names(cls, names: dict[str, str]) -> dict[str, str]:
        for value in names.values():
            _check_env_name(value)
        return names

    def secret_variable(self, key: str) -> str | None:
        """The environment variable a `[source]` key (e.g. customer_key_env, api_key_env) names."""
        value = getattr(self, key, None) if key in type(self).model_fields else self.secret_env.get(key)
        return value if isinstance(value, str) else None

    @model_validator(mode="after")
    def _needs(self) -> SourceSection:
        if self.connector in ("csv", "opendental-csv") and self.path is None:
            raise ValueError(f"connector {self.connector!r} needs 'path', the folder holding the exported files")
        if self.connector == "opendental-api":
            missing = [k for k in ("developer_key_env", "customer_key_env") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"connector 'opendental-api' needs {' and '.join(missing)}")
        if self.connector in DATABASE_CONNECTORS and self.url is None:
            raise ValueError(f"connector {self.connector!r} needs 'url', the database's address, e.g. "
                             "mysql://pmsb_reader@od-server:3306/opendental")
        if self.connector in SHIPPED_CONNECTORS and self.connector not in DATABASE_CONNECTORS:
            given = [k for k in DATABASE_KEYS if k in self.model_fields_set]
            if given:
                raise ValueError(f"{', '.join(given)}: only for a database connector (opendental-db), not "
                                 f"{self.connector!r}")
        if self.ssl is False and self.ssl_ca is not None:
            raise ValueError("ssl = false and ssl_ca turn TLS off and on: leave out ssl (ssl_ca turns it on)")
        return self


class StoreSection(_Section):
    path: Path | None = Field(default=None, description="SQLite file (created owner-only).")
    url: str | None = Field(default=None, description="SQLAlchemy URL, e.g. postgresql://user@host/db.")

    @model_validator(mode="after")
    def _one(self) -> StoreSection:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' (SQLite file) or 'url' (database server)")
        return self


class RulesSection(BaseModel):
    """`select` / `ignore` by code, prefix or name, and `[rules.CODE]` settings tables."""

    model_config = ConfigDict(extra="allow")

    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tables(self) -> RulesSection:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(f"rules.{key} must be a table of settings, e.g. [rules.{key}]")
        return self

    def tables(self) -> dict[str, dict[str, Any]]:
        """The `[rules.CODE]` settings tables (keyed by rule code or name)."""
        return {key: dict(value) for key, value in (self.model_extra or {}).items()}


class RetentionSection(_Section):
    """How long history is kept; `pms-bridge purge` deletes what is older."""

    days: int = Field(
        default=730,
        ge=30,
        description="Keep this many days of history; older rows are deleted by `pms-bridge purge`: "
        "past appointments (start older, no longer scheduled; their procedures stay), closed tasks "
        "(resolved, dismissed or expired longer ago) with their task history and PMS push records, "
        "quarantined rows, and run history (the latest run is always kept). Open tasks and "
        "scheduled appointments are never purged. At least 30, so a dismissed task is remembered "
        "long enough not to come back as new.",
    )


TaskStatusName = TaskStatus  # the name sinks import; defined in model.vocabulary


class SinkSection(BaseModel):
    """One destination for tasks: ``type`` names a registered sink (``pms_bridge.sinks.registry``);
    the other keys are that sink's settings, checked by its settings model when the config loads."""

    model_config = ConfigDict(extra="allow")

    type: str
    _settings: Any = PrivateAttr(default=None)

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        from pms_bridge.sinks.registry import one_of, sink_names

        if value not in sink_names():
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": one_of(sink_names())})
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _sink_settings(cls, data: Any, handler: ModelWrapValidatorHandler[SinkSection]) -> SinkSection:
        section = handler(data)
        if section._settings is None:
            from pms_bridge.sinks.registry import validate_settings

            section._settings = validate_settings(section.type, section.model_dump())
        return section

    @property
    def settings(self) -> Any:
        """The table as the sink's settings model validated it."""
        return self._settings

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        from pms_bridge.sinks.registry import settings_json_schema

        return settings_json_schema(cls.__doc__ or "", handler)


class Config(_Section):
    practice: PracticeSection
    source: SourceSection
    mapping: MappingOverrides = Field(default_factory=MappingOverrides)
    store: StoreSection
    rules: RulesSection = Field(default_factory=RulesSection)
    roles: dict[Role, str] = Field(
        default_factory=dict, description="Who works each coordinator role's tasks (a person or team name)."
    )
    sinks: list[SinkSection] = Field(default_factory=list)
    retention: RetentionSection = Field(
        default_factory=RetentionSection, description="How long history is kept (see `pms-bridge purge`)."
    )

    # Folder of the config file: relative paths in it are relative to this.
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.base_dir / path)

    def store_url(self) -> str:
        if self.store.url is not None:
            return self.store.url
        assert self.store.path is not None
        return f"sqlite:///{self.resolve(self.store.path)}"

    def connector_name(self) -> str:
        """A shipped connector's name, or the path of the practice's own connector file (relative to this file)."""
        name = self.source.connector
        return name if name in SHIPPED_CONNECTORS else str(self.resolve(Path(name)))

    def source_path(self) -> Path:
        assert self.source.path is not None
        return self.resolve(self.source.path)

    def ssl_ca_path(self) -> Path | None:
        """The database's certificate authority file (relative paths are relative to this file)."""
        return None if self.source.ssl_ca is None else self.resolve(self.source.ssl_ca)
