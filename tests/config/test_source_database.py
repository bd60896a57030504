"""[source] for Open Dental's database (connector "opendental-db"): the url, the password's variable and
TLS are checked when the config loads, and the connector file shares the query route's tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from pms_bridge.config import ConfigError, load_config
from pms_bridge.config.models import SHIPPED_CONNECTORS
from pms_bridge.connectors import ConnectorSpecError, load_connector_spec

HEAD = '[practice]\nname = "Db Dental"\ntimezone = "America/Chicago"\n[store]\npath = "s.sqlite"\n[source]\n'
DB = 'connector = "opendental-db"\nurl = "mysql://pmsb_reader@od-server:3306/opendental"\n'


def _load(tmp_path: Path, source: str):
    path = tmp_path / "practice.toml"
    path.write_text(HEAD + source, encoding="utf-8")
    return load_config(path)


def test_the_contract_example_loads(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "od-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    cfg = _load(tmp_path, DB + 'password_env = "OPENDENTAL_DB_PASSWORD"\nssl_ca = "certs/od-ca.pem"\n')
    assert "opendental-db" in SHIPPED_CONNECTORS and cfg.connector_name() == "opendental-db"
    assert cfg.source.password_env == "OPENDENTAL_DB_PASSWORD" and cfg.source.tls and cfg.source.ssl_verify
    assert cfg.ssl_ca_path() == tmp_path / "certs" / "od-ca.pem"  # relative to the config file


def test_an_account_without_a_password_and_mariadb_urls_are_fine(tmp_path: Path) -> None:
    cfg = _load(tmp_path, DB.replace("mysql://", "mariadb://"))
    assert cfg.source.password_env is None and not cfg.source.tls


@pytest.mark.parametrize(("source", "says"), [
    ('connector = "opendental-db"\n', "needs 'url'"),
    (DB.replace("mysql://", "postgresql://"), "start it with mysql:// or mariadb://"),
    (DB.replace("mysql://", "mysql+pymysql://"), "write no driver name"),
    (DB.replace("/opendental", ""), "name a database"),
    (DB.replace("pmsb_reader@", ""), "name a user"),
    (DB.replace("/opendental", "/opendental?ssl=true"), "nothing after the database name"),
    (DB + 'password_env = "hunter2 is my password"\n', "NAME of an environment variable"),
    ('connector = "csv"\npath = "x"\nurl = "mysql://a@b/c"\n', "url: only for a database connector"),
    (DB + "ssl = false\nssl_ca = \"ca.pem\"\n", "leave out ssl"),
])
def test_a_wrong_database_source_names_the_key_and_the_fix(tmp_path: Path, source: str, says: str) -> None:
    with pytest.raises(ConfigError, match="source") as bad:
        _load(tmp_path, source)
    assert says in str(bad.value)


def test_a_password_in_the_url_is_refused_and_never_repeated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as bad:
        _load(tmp_path, DB.replace("pmsb_reader@", "pmsb_reader:Sup3rSecret@"))
    message = str(bad.value)
    assert "put the password in the environment variable named by password_env" in message
    assert "Sup3rSecret" not in message


def test_a_missing_certificate_file_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"source.ssl_ca: no certificate file at .*od-ca.pem"):
        _load(tmp_path, DB + 'ssl_ca = "certs/od-ca.pem"\n')


def test_the_database_route_reads_the_query_routes_tables() -> None:
    database = load_connector_spec("opendental-db")
    query = load_connector_spec("opendental-api").query
    assert database.kind == "database" and database.default_mapping == "opendental"
    assert database.database is not None and query is not None
    assert database.database.tables == query.tables  # one list, shared (tables_from)
    assert set(query.never_columns) <= set(database.database.never_columns)


def test_a_database_connector_file_is_validated(tmp_path: Path) -> None:
    both = tmp_path / "both.toml"
    both.write_text('name = "x"\nkind = "database"\ndefault_mapping = "opendental"\n[database]\n'
                    'tables_from = "opendental-api"\n[database.tables]\npatient = { pk = "PatNum" }\n', encoding="utf-8")
    with pytest.raises(ConnectorSpecError, match="either 'tables_from'"):
        load_connector_spec(both)
    lacking = tmp_path / "lacking.toml"
    lacking.write_text('name = "x"\nkind = "database"\ndefault_mapping = "opendental"\n', encoding="utf-8")
    with pytest.raises(ConnectorSpecError, match=r"\[database\] section"):
        load_connector_spec(lacking)
    no_query = tmp_path / "no-query.toml"
    no_query.write_text('name = "x"\nkind = "database"\ndefault_mapping = "opendental"\n[database]\n'
                        'tables_from = "opendental-csv"\n', encoding="utf-8")
    with pytest.raises(ConnectorSpecError, match="has no \\[query\\] tables to share"):
        load_connector_spec(no_query)
