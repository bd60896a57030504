"""Practice configuration (TOML), validated with pydantic."""

from pms_bridge.config.loader import ConfigError, load_config
from pms_bridge.config.models import Config

__all__ = ["Config", "ConfigError", "load_config"]
