"""Config errors name the key and say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pms_bridge.config import ConfigError, load_config

GOOD = """\
[practice]
name = "Main Street Dental"
timezone = "America/Chicago"

[source]
connector = "csv"
mapping = "opendental"
path = "exports/"

[store]
path = "state/main-street.sqlite"

[rules]
ignore = ["SCH003"]
[rules.REF001]
deadline_days = 10

[[sinks]]
type = "html"
path = "out/tasks.html"
"""


def _load(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "practice.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_design_example_loads_and_resolves_paths(tmp_path: Path) -> None:
    cfg = _load(tmp_path, GOOD)
    assert cfg.practice.practice().key == "main-street-dental"
    assert cfg.source_path() == tmp_path / "exports"
    assert cfg.store_url() == f"sqlite:///{tmp_path / 'state' / 'main-street.sqlite'}"
    assert cfg.rules.ignore == ["SCH003"] and cfg.rules.tables()["REF001"] == {"deadline_days": 10}
    assert cfg.sinks[0].type == "html"


@pytest.mark.parametrize("selector", ["INS", "SCH003", "new-patient-not-scheduled", "ref"])
def test_rules_are_selected_by_code_prefix_or_name(tmp_path: Path, selector: str) -> None:
    _load(tmp_path, GOOD.replace('ignore = ["SCH003"]', f'select = ["{selector}"]'))


def test_api_source_from_design_example(tmp_path: Path) -> None:
    text = GOOD.replace(
        'connector = "csv"\nmapping = "opendental"\npath = "exports/"',
        'connector = "opendental-api"\nmode = "cloud"\nread_route = "resources"\nmapping = "opendental-api"\n'
        'base_url = "https://api.opendental.com/api/v1"\ndeveloper_key_env = "OPENDENTAL_DEVELOPER_KEY"\n'
        'customer_key_env = "OPENDENTAL_CUSTOMER_KEY"',
    )
    cfg = _load(tmp_path, text)
    assert cfg.source.mode == "cloud" and cfg.source.developer_key_env == "OPENDENTAL_DEVELOPER_KEY"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("timezone = \"America/Chicago\"", "timezone = \"America/Chicgo\""), "practice.timezone: unknown timezone"),
        (("connector = \"csv\"", "connector = \"excel\""), "source.connector: Input should be 'csv'"),
        (("path = \"exports/\"", "paht = \"exports/\""), "source.paht: Extra inputs are not permitted. Check the spelling; allowed here: connector, mapping, path"),
        (("path = \"exports/\"\n", ""), "connector 'csv' needs 'path'"),
        (("path = \"state/main-street.sqlite\"", "url = \"x\"\npath = \"y\""), "store: give exactly one of 'path'"),
        (("type = \"html\"", "type = \"fax\""), "sinks.0.type: Input should be 'json'"),
        (("path = \"out/tasks.html\"", ""), "sinks.0: a html sink needs 'path', the file to write"),
        (("path = \"out/tasks.html\"", "path = \"out/tasks.html\"\nstatsu = [\"open\"]"),
         "sinks.0.statsu: Extra inputs are not permitted. Check the spelling; a html sink takes: type, path, status"),
        (("type = \"html\"\npath = \"out/tasks.html\"", "type = \"opendental-tasks\"\nuser_num = 1\ntasklist = 3"),
         ("sinks.0.tasklist: Extra inputs are not permitted. Check the spelling; an opendental-tasks sink takes: "
          "type, user_num, task_lists")),
        (("type = \"html\"\npath = \"out/tasks.html\"", "type = \"opendental-tasks\"\n[sinks.task_lists]\npatient = 0"),
         "sinks.0.task_lists.patient: Input should be greater than or equal to 1; or Input should be a valid string"),
        (("type = \"html\"\npath = \"out/tasks.html\"", "type = \"opendental-commlog\"\ncomm_type = \"x\""),
         "sinks.0.comm_type: Input should be a valid integer"),
        (("deadline_days = 10", "deadline_days = 10\n[rules.X]"), "rules.X: no such rule"),
        (("deadline_days = 10", 'deadline_days = "ten"'), "rules.REF001.deadline_days: Input should be a valid integer"),
        (("ignore = [\"SCH003\"]", "ignore = [\"SCH999\"]"), "rules.ignore: no rule matches 'SCH999'"),
        (("ignore = [\"SCH003\"]", "select = [\"scheduling\"]"), "rules.select: no rule matches 'scheduling'"),
        (("ignore = [\"SCH003\"]", "ignore = \"SCH003\""), "rules.ignore: Input should be a valid list"),
        (("name = \"Main Street Dental\"\n", ""), "practice.name: Field required. Add it."),
    ],
)
def test_errors_name_the_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert expected in str(exc.value)
    assert str(tmp_path / "practice.toml") in str(exc.value)


def test_a_secret_in_the_file_gets_a_hint_and_is_not_echoed(tmp_path: Path) -> None:
    text = GOOD.replace('path = "exports/"', 'path = "exports/"\ncustomer_key = "VzkmZEaUWOjnQX2z"')
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert "environment variable" in str(exc.value) and "customer_key_env" in str(exc.value)
    assert "VzkmZEaUWOjnQX2z" not in str(exc.value)


def test_env_name_must_be_a_name(tmp_path: Path) -> None:
    text = GOOD.replace(
        'connector = "csv"\nmapping = "opendental"\npath = "exports/"',
        'connector = "opendental-api"\ndeveloper_key_env = "abc/def+ghi="\ncustomer_key_env = "OD_CUSTOMER"',
    )
    with pytest.raises(ConfigError, match="source.developer_key_env: must be the NAME") as exc:
        _load(tmp_path, text)
    assert "abc/def+ghi=" not in str(exc.value)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        _load(tmp_path, "[practice\n")


def test_mapping_overrides_in_config(tmp_path: Path) -> None:
    cfg = _load(tmp_path, GOOD + '\n[mapping.settings.radiograph_categories]\n"X-Rays" = "fmx"\n')
    assert cfg.mapping.settings == {"radiograph_categories": {"X-Rays": "fmx"}}


def test_clinics_by_name_or_number(tmp_path: Path) -> None:
    text = GOOD.replace('timezone = "America/Chicago"', 'timezone = "America/Chicago"\nclinics = ["Main St", 3, 0]')
    cfg = _load(tmp_path, text)
    assert cfg.practice.clinics == ["Main St", 3, 0]
    assert _load(tmp_path, GOOD).practice.clinics is None  # every clinic


@pytest.mark.parametrize(("value", "expected"), [
    ("[]", "practice.clinics: list at least one clinic"),
    ('["Main St", "main st"]', "practice.clinics: clinic 'main st' is listed twice"),
    ("[-1]", "practice.clinics: clinic number -1 must be 0 or more"),
    ('["  "]', "practice.clinics: a clinic name must not be empty"),
    ('"Main St"', "practice.clinics: Input should be a valid list"),
])
def test_clinic_selection_errors_name_the_key(tmp_path: Path, value: str, expected: str) -> None:
    text = GOOD.replace('timezone = "America/Chicago"', f'timezone = "America/Chicago"\nclinics = {value}')
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert expected in str(exc.value)


def test_the_clinics_key_is_documented_in_the_schema() -> None:
    from pms_bridge.config.models import Config

    clinics = Config.model_json_schema()["$defs"]["PracticeSection"]["properties"]["clinics"]
    assert "abbreviation or description" in clinics["description"] and "ClinicNum" in clinics["description"]


def test_a_secret_in_a_sink_gets_a_hint_and_is_not_echoed(tmp_path: Path) -> None:
    text = GOOD.replace('type = "html"\npath = "out/tasks.html"', 'type = "opendental-commlog"\napi_key = "VzkmZEaUWOjnQX2z"')
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    assert "sinks.0.api_key" in str(exc.value) and "environment variable" in str(exc.value)
    assert "VzkmZEaUWOjnQX2z" not in str(exc.value)


def test_sink_settings_are_validated_once_at_load(tmp_path: Path) -> None:
    text = GOOD + '\n[[sinks]]\ntype = "opendental-tasks"\nuser_num = 1\n[sinks.task_lists]\npatient = "Front Desk"\n'
    cfg = _load(tmp_path, text)
    html, tasks = cfg.sinks
    assert html.settings.path == Path("out/tasks.html") and html.settings.status == ["open"]
    assert tasks.settings.user_num == 1 and tasks.settings.task_lists == {"patient": "Front Desk"}


def test_the_config_schema_accepts_the_design_example() -> None:
    import tomllib

    import jsonschema

    from pms_bridge.config import Config

    example = tomllib.loads(GOOD + '\n[[sinks]]\ntype = "opendental-tasks"\nuser_num = 1\n[sinks.task_lists]\npatient = 3\n')
    jsonschema.validate(example, Config.model_json_schema())
    example["sinks"][0]["paht"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example, Config.model_json_schema())


def test_a_connector_file_of_ones_own_and_its_secret_variables(tmp_path: Path) -> None:
    from pms_bridge.config import ConfigError, load_config

    def load(source: str):  # noqa: ANN202
        path = tmp_path / "own.toml"
        path.write_text('[practice]\nname = "Own"\ntimezone = "America/Chicago"\n[source]\n' + source
                        + '[store]\npath = "own.sqlite"\n', encoding="utf-8")
        return load_config(path)

    cfg = load('connector = "connectors/acme.toml"\nmapping = "acme.toml"\napi_key_env = "ACME_KEY"\n')
    assert cfg.connector_name() == str(tmp_path / "connectors" / "acme.toml")
    assert cfg.source.secret_variable("api_key_env") == "ACME_KEY"
    with pytest.raises(ConfigError, match=r"source\.api_kye: Extra inputs are not permitted"):
        load('connector = "acme.toml"\napi_kye = "ACME_KEY"\n')
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        load('connector = "acme.toml"\napi_key_env = "sk-live 123"\n')
    with pytest.raises(ConfigError, match=r"source\.connector: .*or the path to a connector \.toml"):
        load('connector = "acme"\n')
