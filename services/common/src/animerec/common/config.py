"""Typed settings read once from prefixed environment variables.

Every service declares a frozen dataclass of settings; `load(cls)` reads each
field from ``<prefix><FIELD_NAME>`` (upper-cased), converts it to the field's
type and fails with a `ConfigError` that names the variable on a bad value.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .metrics import parse_labels

PREFIX = "ANIMEREC_"

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")   # a settings dataclass

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration variable is missing or has a bad value."""


def setting(default: Any = dataclasses.MISSING, *, help: str, choices: tuple[str, ...] | None = None,
            minimum: float | None = None, maximum: float | None = None, secret: bool = False,
            check: Callable[[Any], Any] | None = None) -> Any:
    """Declare one setting: its default, a one-line description and optional bounds; `check(value)` raising
    ValueError refuses a value its type and bounds cannot describe (the message names the variable)."""
    meta = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum, "secret": secret,
            "check": check}
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def env_name(cls: type, field: dataclasses.Field) -> str:
    prefix = getattr(cls, "env_prefix", PREFIX)
    return f"{prefix}{field.name.upper()}"


def _convert(var: str, raw: str, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if raw.strip() == "":
            return None
        return _convert(var, raw, args[0])
    if kind is bool:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"{var}: expected a boolean (true/false), got {raw!r}")
    if kind is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"{var}: expected an integer, got {raw!r}") from None
    if kind is float:
        try:
            return float(raw.strip())
        except ValueError:
            raise ConfigError(f"{var}: expected a number, got {raw!r}") from None
    if kind is Path:
        return Path(raw)
    if origin in (list, tuple):
        (item,) = typing.get_args(kind)[:1]
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        return [_convert(var, p, item) for p in parts]
    return raw


def _check(var: str, value: Any, meta: Mapping[str, Any]) -> None:
    choices = meta.get("choices")
    if choices and value is not None and value not in choices:
        raise ConfigError(f"{var}: expected one of {', '.join(choices)}, got {value!r}")
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if lo is not None and value < lo:
            raise ConfigError(f"{var}: must be >= {lo}, got {value!r}")
        if hi is not None and value > hi:
            raise ConfigError(f"{var}: must be <= {hi}, got {value!r}")
    check = meta.get("check")
    if check is not None and value is not None:
        try:
            check(value)
        except ValueError as exc:
            raise ConfigError(f"{var}: {exc}") from None


def load(cls: type[T], environ: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """Build `cls` from the environment; keyword overrides win over variables."""
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        var = env_name(cls, field)
        if field.name in overrides:
            value = overrides[field.name]
        elif var in environ:
            value = _convert(var, environ[var], hints[field.name])
        elif field.default is not dataclasses.MISSING:
            value = field.default
        elif field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            value = field.default_factory()  # type: ignore[misc]
        else:
            raise ConfigError(f"{var}: required but not set")
        _check(var, value, field.metadata)
        values[field.name] = value
    return cls(**values)


def describe(cls: type) -> list[dict[str, Any]]:
    """One row per setting (variable, type, default, help), for docs and `animerec config`."""
    hints = typing.get_type_hints(cls)
    rows = []
    for field in dataclasses.fields(cls):
        default = field.default
        if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = field.default_factory()  # type: ignore[misc]
        kind = hints[field.name]
        rows.append({
            "variable": env_name(cls, field),
            "type": getattr(kind, "__name__", str(kind).replace("typing.", "")),
            "default": None if default is dataclasses.MISSING else default,
            "help": field.metadata.get("help", ""),
            "secret": bool(field.metadata.get("secret")),
        })
    return rows


@dataclasses.dataclass(frozen=True)
class CoreSettings:
    """Connection settings shared by every service."""

    postgres_url: str = setting("postgresql://postgres@127.0.0.1:5432/animerec",
                                help="PostgreSQL connection URL (libpq form)", secret=True)
    kafka_bootstrap: str = setting("127.0.0.1:9092", help="Kafka bootstrap servers, comma separated")
    kafka_client_id: str = setting("animerec", help="Kafka client id prefix")
    kafka_session_timeout_ms: int = setting(10000, minimum=1000, maximum=300000,
                                            help="Consumer group session timeout")
    kafka_compression: str = setting("gzip", choices=("none", "gzip", "zstd"),
                                     help="Producer compression codec")
    topic_prefix: str = setting("animerec.", help="Prefix of every Kafka topic name")
    redis_url: str = setting("redis://127.0.0.1:6379/0", help="Redis connection URL", secret=True)
    redis_prefix: str = setting("animerec:", help="Prefix of every Redis key")
    log_level: str = setting("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="Log level")
    log_format: str = setting("json", choices=("json", "text"), help="Log line format")
    metrics_port: int = setting(9100, minimum=0, maximum=65535,
                                help="Port of the Prometheus /metrics endpoint (0: off)")
    metrics_push_labels: str = setting(
        "", check=parse_labels,
        help="Labels added to the grouping key of metrics pushed to a Pushgateway, name=value,... (the chart sets "
             "release_namespace and release, so two installs sharing a Pushgateway never overwrite each other)")
    state_dir: Path = setting(Path(".animerec"), help="Where `animerec stack` keeps pid files and logs")
    data_dir: Path | None = setting(None, help="Folder of the real MAL datasets (default: the repo's data/, then "
                                           "../shared/datasets); see data/README.md")


def core(environ: Mapping[str, str] | None = None, **overrides: Any) -> CoreSettings:
    return load(CoreSettings, environ, **overrides)
