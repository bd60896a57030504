"""The group file: what it refuses and says, what it makes of each location's config, and its documented keys.

Run this file as a script to print the key table docs/groups.md carries between its markers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pms_bridge.config import ConfigError
from pms_bridge.config.group import GroupFile, load_group

STORE = "postgresql://pmsb@db.test/pms_bridge"
BROKER = "amqp://pmsb@mq.test:5672//"

LOCATION = """\
[practice]
name = "{name}"
timezone = "America/Chicago"
{key}
[source]
connector = "csv"
mapping = "opendental"
path = "../exports/{folder}"
{store}"""

DOCS = Path(__file__).resolve().parents[2] / "docs" / "groups.md"
TABLE_START, TABLE_END = "<!-- group-file-keys: start -->", "<!-- group-file-keys: end -->"


def _location(folder: Path, file: str, name: str, *, key: str = "", store: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(LOCATION.format(name=name, key=f'key = "{key}"' if key else "", folder=file,
                                               store=store), encoding="utf-8")


def _group(tmp_path: Path, *, store: str = STORE, broker: str = BROKER, queue_extra: str = "",
           locations: tuple[str, ...] = ("locations/main.toml",)) -> Path:
    entries = "".join(f'\n[[locations]]\nconfig = "{c}"\n' for c in locations)
    path = tmp_path / "group.toml"
    path.write_text(f'[group]\nname = "Bright Smiles Group"\n\n[store]\nurl = "{store}"\n\n[queue]\n'
                    f'broker = "{broker}"\n{queue_extra}{entries}', encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["sqlite:///state/group.sqlite", "mysql+pymysql://pmsb@db.test/pms_bridge"])
def test_a_store_other_than_postgresql_is_refused_with_the_reason(tmp_path: Path, url: str) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    with pytest.raises(ConfigError) as exc:
        load_group(_group(tmp_path, store=url))
    assert "store.url: a group's store is a PostgreSQL server every worker reaches" in str(exc.value)
    assert "a SQLite file cannot be shared between machines" in str(exc.value)


def test_a_store_url_that_is_no_url_asks_for_a_postgresql_one(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    with pytest.raises(ConfigError, match=r"store\.url: give a PostgreSQL URL, e.g\. postgresql://"):
        load_group(_group(tmp_path, store="db.test:5432"))


@pytest.mark.parametrize("broker", ["http://mq.test:15672", "mq.test:5672", "sqs://mq.test"])
def test_a_broker_of_another_scheme_is_refused_naming_the_two_kinds(tmp_path: Path, broker: str) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    with pytest.raises(ConfigError) as exc:
        load_group(_group(tmp_path, broker=broker))
    assert "queue.broker: give the broker's URL: amqp://" in str(exc.value) and "redis://" in str(exc.value)


@pytest.mark.parametrize("broker", ["amqp://guest@127.0.0.1:5672//", "pyamqp://mq.test//", "amqps://mq.test//",
                                    "redis://127.0.0.1:6379/0", "rediss://mq.test:6380/1"])
def test_rabbitmq_and_redis_brokers_are_accepted(tmp_path: Path, broker: str) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    assert load_group(_group(tmp_path, broker=broker)).settings.queue.broker == broker


def test_a_missing_location_config_is_named_with_its_index_and_where_it_was_looked_for(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    path = _group(tmp_path, locations=("locations/main.toml", "locations/elm.toml"))
    with pytest.raises(ConfigError) as exc:
        load_group(path)
    message = str(exc.value)
    assert "locations[1].config" in message and str(tmp_path / "locations" / "elm.toml") in message
    assert "relative to the group file" in message


def test_two_locations_with_one_practice_key_are_refused_naming_both_files(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    _location(tmp_path / "locations", "copy.toml", "Main Street Dental")
    with pytest.raises(ConfigError) as exc:
        load_group(_group(tmp_path, locations=("locations/main.toml", "locations/copy.toml")))
    message = str(exc.value)
    assert "'main-street-dental'" in message and "copy.toml" in message and "main.toml" in message
    assert '[practice] key = "..."' in message


def test_a_practice_key_tells_two_locations_of_one_name_apart(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    _location(tmp_path / "locations", "north.toml", "Main Street Dental", key="main-street-north")
    group = load_group(_group(tmp_path, locations=("locations/main.toml", "locations/north.toml")))
    assert list(group.locations) == ["main-street-dental", "main-street-north"]


def test_a_locations_own_store_is_replaced_by_the_groups(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental", store='[store]\npath = "main.sqlite"\n')
    group = load_group(_group(tmp_path))
    config = group.locations["main-street-dental"].config
    assert config.store.url == STORE and config.store.path is None
    assert group.store_url == STORE


def test_a_location_config_without_a_store_is_accepted_in_a_group(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    group = load_group(_group(tmp_path))
    location = group.locations["main-street-dental"]
    assert location.config.store.url == STORE
    assert location.config_path == tmp_path / "locations" / "main.toml"
    # Its source's relative path is read from the location's config, not from the group file.
    assert location.config.base_dir == tmp_path / "locations"


def test_the_group_key_defaults_from_the_name_and_names_the_queue(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    group = load_group(_group(tmp_path))
    assert (group.key, group.name) == ("bright-smiles-group", "Bright Smiles Group")
    prefix, store = group.queue.rsplit(".", 1)
    assert prefix == "pms-bridge.bright-smiles-group" and len(store) == 8
    path = _group(tmp_path)
    path.write_text(path.read_text().replace("[group]\n", '[group]\nkey = "bright-east"\n'), encoding="utf-8")
    assert load_group(path).queue == f"pms-bridge.bright-east.{store}"
    # One key, another store (a trial beside production): another queue, so neither takes the other's jobs.
    path.write_text(path.read_text().replace("/pms_bridge", "/pms_bridge_trial"), encoding="utf-8")
    assert load_group(path).queue.rsplit(".", 1)[1] != store


def test_broker_password_env_takes_a_variable_name_not_a_password(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    group = load_group(_group(tmp_path, queue_extra='broker_password_env = "PMSB_BROKER_PASSWORD"\n'))
    assert group.settings.queue.broker_password_env == "PMSB_BROKER_PASSWORD"
    with pytest.raises(ConfigError) as exc:
        load_group(_group(tmp_path, queue_extra='broker_password_env = "s3cret pass!"\n'))
    assert "queue.broker_password_env" in str(exc.value) and "s3cret pass!" not in str(exc.value)


def test_the_broker_password_comes_from_the_variable_and_is_never_shown(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from pms_bridge.group.app import broker_url, shown_broker

    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    group = load_group(_group(tmp_path, queue_extra='broker_password_env = "PMSB_BROKER_PASSWORD"\n'))
    monkeypatch.delenv("PMSB_BROKER_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="the environment variable PMSB_BROKER_PASSWORD is not set"):
        broker_url(group)
    monkeypatch.setenv("PMSB_BROKER_PASSWORD", "w4bbit/pass")
    assert broker_url(group) == "amqp://pmsb:w4bbit%2Fpass@mq.test:5672//"
    assert "w4bbit" not in shown_broker(group)


def test_a_misspelt_queue_key_is_refused(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    with pytest.raises(ConfigError, match=r"queue\.retires: Extra inputs are not permitted"):
        load_group(_group(tmp_path, queue_extra="retires = 2\n"))


def test_pick_names_the_unknown_location_and_the_known_ones(tmp_path: Path) -> None:
    _location(tmp_path / "locations", "main.toml", "Main Street Dental")
    _location(tmp_path / "locations", "elm.toml", "Elm Street Dental")
    group = load_group(_group(tmp_path, locations=("locations/main.toml", "locations/elm.toml")))
    assert [loc.key for loc in group.pick(None)] == ["main-street-dental", "elm-street-dental"]
    assert [loc.key for loc in group.pick(["elm-street-dental", "elm-street-dental"])] == ["elm-street-dental"]
    with pytest.raises(ConfigError) as exc:
        group.pick(["elm-street-dental", "oak-street"])
    assert "no location 'oak-street' in the group" in str(exc.value)
    assert "its locations: main-street-dental, elm-street-dental" in str(exc.value)


def test_a_missing_group_file_points_to_the_docs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"group file .*nowhere\.toml not found \(see docs/groups\.md\)"):
        load_group(tmp_path / "nowhere.toml")


def test_the_schema_prints_and_validates_the_issues_example() -> None:
    import tomllib

    import jsonschema

    schema = json.loads(json.dumps(GroupFile.model_json_schema()))
    example = tomllib.loads(f'[group]\nname = "Bright Smiles Group"\n[store]\nurl = "{STORE}"\n[queue]\n'
                            f'broker = "{BROKER}"\n[[locations]]\nconfig = "locations/main-street.toml"\n')
    jsonschema.validate(example, schema)
    example["queue"]["retires"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example, schema)


def test_pms_bridge_schema_group_prints_the_models_schema() -> None:
    from typer.testing import CliRunner

    from pms_bridge.cli.main import app

    result = CliRunner().invoke(app, ["schema", "group"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(GroupFile.model_json_schema()))


def _kind(prop: dict[str, Any]) -> str:
    kinds = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    names = {"string": "text", "number": "number", "integer": "integer", "array": "list"}
    kind = " or ".join("path" if k.get("format") == "path" else names.get(k.get("type", ""), "table") for k in kinds)
    return f"{kind}, optional" if len(kinds) < len(prop.get("anyOf", [prop])) else kind


def key_table() -> str:
    """The group file's keys as docs/groups.md shows them, from the pydantic model's JSON Schema."""
    schema = GroupFile.model_json_schema()
    rows = ["| key | type | default | what it is |", "|---|---|---|---|"]
    for section, prop in schema["properties"].items():
        ref = (prop.get("items") or prop)["$ref"].rsplit("/", 1)[-1]
        definition = schema["$defs"][ref]
        heading = f"[[{section}]]" if prop.get("type") == "array" else f"[{section}]"
        for key, field in definition["properties"].items():
            default = "required" if key in definition.get("required", ()) else (
                "none" if field.get("default") is None else f"`{field['default']}`")
            description = field.get("description", "").replace("|", "\\|")
            rows.append(f"| `{heading} {key}` | {_kind(field)} | {default} | {description} |")
    return "\n".join(rows)


def test_the_docs_key_table_is_the_models() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, f"{DOCS.name} lost its key table markers"
    documented = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    assert documented == key_table(), (
        f"the group file's keys changed: paste `python {Path(__file__).relative_to(DOCS.parents[1])}`'s output "
        f"between the markers in docs/groups.md")


if __name__ == "__main__":
    print(key_table())
