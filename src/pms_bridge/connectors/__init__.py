"""Connector engine: how rows are fetched from a source (files now, REST APIs next)."""

from pms_bridge.connectors.files import FileConnector, SourceFileError, SourceTable, SourceUnavailable
from pms_bridge.connectors.spec import ConnectorSpec, ConnectorSpecError, load_connector_spec

__all__ = [
    "ConnectorSpec",
    "ConnectorSpecError",
    "FileConnector",
    "SourceFileError",
    "SourceTable",
    "SourceUnavailable",
    "load_connector_spec",
]
