"""A synthetic Open Dental practice with planted problems, for tests and the demo."""

from pms_bridge.sample.generator import SampleReport, generate_group, generate_practice

__all__ = ["SampleReport", "generate_group", "generate_practice"]
