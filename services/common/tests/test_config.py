import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from animerec.common import config
from animerec.common.cli import main
from animerec.common.config import ConfigError, CoreSettings, setting


def test_defaults_when_nothing_set():
    s = config.core({})
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.metrics_port == 9100
    assert s.state_dir == Path(".animerec")


def test_values_are_typed():
    s = config.core({"ANIMEREC_METRICS_PORT": "9200", "ANIMEREC_KAFKA_BOOTSTRAP": "a:1,b:2",
                     "ANIMEREC_LOG_LEVEL": "DEBUG", "ANIMEREC_STATE_DIR": "/tmp/x"})
    assert s.metrics_port == 9200
    assert s.kafka_bootstrap == "a:1,b:2"
    assert s.state_dir == Path("/tmp/x")


@pytest.mark.parametrize(("var", "value", "fragment"), [
    ("ANIMEREC_METRICS_PORT", "nine", "expected an integer"),
    ("ANIMEREC_METRICS_PORT", "70000", "must be <= 65535"),
    ("ANIMEREC_LOG_LEVEL", "LOUD", "expected one of"),
    ("ANIMEREC_KAFKA_COMPRESSION", "lz5", "expected one of"),
    ("ANIMEREC_KAFKA_SESSION_TIMEOUT_MS", "10", "must be >= 1000"),
])
def test_bad_value_names_the_variable(var, value, fragment):
    with pytest.raises(ConfigError) as err:
        config.core({var: value})
    assert str(err.value).startswith(var + ":")
    assert fragment in str(err.value)
    assert value in str(err.value)


@dataclasses.dataclass(frozen=True)
class _Svc:
    env_prefix = "ANIMEREC_TESTSVC_"
    token: str = setting(help="required value")
    enabled: bool = setting(False, help="a flag")
    hosts: list[str] = setting(["a"], help="hosts")
    ratio: float = setting(0.5, minimum=0, maximum=1, help="ratio")


def test_service_prefix_required_bool_list_float():
    with pytest.raises(ConfigError, match="ANIMEREC_TESTSVC_TOKEN: required but not set"):
        config.load(_Svc, {})
    s = config.load(_Svc, {"ANIMEREC_TESTSVC_TOKEN": "t", "ANIMEREC_TESTSVC_ENABLED": "yes",
                           "ANIMEREC_TESTSVC_HOSTS": "x, y,,z", "ANIMEREC_TESTSVC_RATIO": "0.25"})
    assert (s.token, s.enabled, s.hosts, s.ratio) == ("t", True, ["x", "y", "z"], 0.25)
    with pytest.raises(ConfigError, match="ANIMEREC_TESTSVC_ENABLED: expected a boolean"):
        config.load(_Svc, {"ANIMEREC_TESTSVC_TOKEN": "t", "ANIMEREC_TESTSVC_ENABLED": "maybe"})
    assert config.load(_Svc, {}, token="o").token == "o"


def test_describe_lists_every_setting_and_hides_secrets():
    rows = {r["variable"]: r for r in config.describe(CoreSettings)}
    assert len(rows) == len(dataclasses.fields(CoreSettings))
    assert rows["ANIMEREC_POSTGRES_URL"]["secret"] is True
    assert all(r["help"] for r in rows.values())


def test_cli_fails_cleanly_on_bad_variable(monkeypatch):
    monkeypatch.setenv("ANIMEREC_METRICS_PORT", "abc")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1
    assert "ANIMEREC_METRICS_PORT: expected an integer, got 'abc'" in result.output
    assert "Traceback" not in result.output


def test_a_setting_check_refuses_values_naming_the_variable():
    with pytest.raises(ConfigError, match="ANIMEREC_METRICS_PUSH_LABELS: bad Pushgateway label 'job=x'"):
        config.core({"ANIMEREC_METRICS_PUSH_LABELS": "release=r,job=x"})
    assert config.core({"ANIMEREC_METRICS_PUSH_LABELS": "release=r"}).metrics_push_labels == "release=r"
