"""`pms-bridge sample --locations N --group-store URL`: a group file and one config per sample location,
to try a group (workers, `group run`, `group status`) on synthetic data."""

from __future__ import annotations

from pathlib import Path

from pms_bridge.cli.demo import DEMO_TIMEZONE

LOCATION_CONFIG = """\
# A sample location of a pms-bridge group (synthetic data). Its [store] is the group's.
[practice]
name = "{name}"
timezone = "{timezone}"

[source]
connector = "csv"
mapping = "opendental"
path = "../{folder}"

[[sinks]]
type = "json"
path = "../out/{folder}/tasks.json"
"""

GROUP_FILE = """\
# A pms-bridge group of {count} sample locations (see docs/groups.md).
[group]
name = "Sample Dental Group"

[store]
url = "{store}"

[queue]
broker = "{broker}"
{locations}"""


def write_group_files(out_dir: Path, location_dirs: list[Path], store_url: str, broker: str) -> Path:
    """Write ``out_dir/group.toml`` and ``out_dir/locations/<folder>.toml`` per location; returns the group file."""
    configs = out_dir / "locations"
    configs.mkdir(parents=True, exist_ok=True, mode=0o700)
    entries = []
    for folder in location_dirs:
        name = f"Sample Dental {folder.name.replace('-', ' ').title()}"
        (configs / f"{folder.name}.toml").write_text(
            LOCATION_CONFIG.format(name=name, timezone=DEMO_TIMEZONE, folder=folder.name), encoding="utf-8")
        entries.append(f'\n[[locations]]\nconfig = "locations/{folder.name}.toml"\n')
    group_file = out_dir / "group.toml"
    group_file.write_text(GROUP_FILE.format(count=len(location_dirs), store=store_url, broker=broker,
                                            locations="".join(entries)), encoding="utf-8")
    return group_file
