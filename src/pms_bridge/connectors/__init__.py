"""Connector engine: how rows are fetched from a source, declared per PMS in a connector file.

``kind = "files"``: exported tables (files.py). ``kind = "rest"``: a REST API (rest.py), over one
HTTP client for connectors and sinks alike (api_client.py: pacing, retries, Retry-After), with the
file's auth header, paginator and record selector (paging.py) and error table (http_errors.py).
``kind = "database"``: a PMS's own MySQL/MariaDB database, read only (database.py), with the SQL it
shares with the REST query route (sql_tables.py).
A PMS whose API is paged JSON with a key header needs a connector file and a mapping file only.
"""

from pms_bridge.connectors.files import (
    FileConnector,
    SourceFileError,
    SourceTable,
    SourceUnavailable,
)
from pms_bridge.connectors.spec import (
    ConnectorSpec,
    ConnectorSpecError,
    load_connector_spec,
)

__all__ = [
    "ConnectorSpec",
    "ConnectorSpecError",
    "FileConnector",
    "SourceFileError",
    "SourceTable",
    "SourceUnavailable",
    "load_connector_spec",
]
