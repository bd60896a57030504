"""pms-bridge: a dental practice's PMS data, checked against the coordinator's rules."""

__version__ = "0.1.0"
