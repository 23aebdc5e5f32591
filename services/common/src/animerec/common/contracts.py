"""The data contracts in `schemas/`: event JSON Schemas, the topic list, SQL migrations."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

SCHEMA_VERSION = 1

# Item types the crawler emits; each has schemas/events/<type>.v1.json and a landing table.
ITEM_TYPES = (
    "anime_info", "anime_stats", "anime_review", "anime_recommendation", "anime_related",
    "anime_picture", "anime_club", "profile", "animelist_entry", "favorite", "friend", "activity",
)


class SchemaError(ValueError):
    """A message does not match its event schema; the text says where and why."""

    def __init__(self, schema: str, message: str) -> None:
        super().__init__(f"{schema}: {message}")
        self.schema = schema
        self.reason = message


def schemas_dir() -> Path:
    """The contracts folder: $ANIMEREC_SCHEMAS_DIR, else the nearest `schemas/` above this file."""
    return _schemas_dir(os.environ.get("ANIMEREC_SCHEMAS_DIR"))


@functools.lru_cache(maxsize=8)
def _schemas_dir(env: str | None) -> Path:
    # Cached: every produced and consumed message asks for it, and the search walks the filesystem.
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "schemas"
        if (candidate / "topics.yaml").is_file():
            return candidate
    raise FileNotFoundError("schemas/ not found: set ANIMEREC_SCHEMAS_DIR to the contracts folder")


@functools.lru_cache(maxsize=4)
def _load(folder: Path) -> tuple[dict[str, Draft202012Validator], dict[str, dict[str, Any]]]:
    raw = {}
    for path in sorted((folder / "events").glob("*.v1.json")):
        raw[path.name.removesuffix(".v1.json")] = json.loads(path.read_text())
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in raw.values()
    )
    checker = FormatChecker()
    validators = {
        name: Draft202012Validator(doc, registry=registry, format_checker=checker)
        for name, doc in raw.items() if not name.startswith("_")
    }
    return validators, raw


def event_schemas(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _load(folder or schemas_dir())[1].items() if not k.startswith("_")}


def validator(name: str, folder: Path | None = None) -> Draft202012Validator:
    validators = _load(folder or schemas_dir())[0]
    try:
        return validators[name]
    except KeyError:
        raise SchemaError(name, f"unknown event schema (known: {', '.join(sorted(validators))})") from None


def validate(name: str, message: Any) -> None:
    """Raise SchemaError with the most relevant violation, as `field.path: reason`."""
    check = validator(name)
    if check.is_valid(message):  # the common case; collecting every error is only worth it on failure
        return
    error = best_match(check.iter_errors(message))
    if error is None:
        return
    where = ".".join(str(p) for p in error.absolute_path) or "(message)"
    raise SchemaError(name, f"{where}: {error.message}")


def schema_for(message: Any) -> str:
    """The schema a message claims: its item_type, else fails."""
    if isinstance(message, dict) and isinstance(message.get("item_type"), str):
        return message["item_type"]
    raise SchemaError("(unknown)", "message has no item_type and no schema header")


@dataclass(frozen=True)
class Topic:
    key: str            # logical name used in code: "ingest", "schedule_anime", ...
    name: str           # full Kafka topic name, prefix included
    partitions: int
    retention_ms: int
    schemas: tuple[str, ...]
    description: str


def topics(prefix: str = "animerec.", folder: Path | None = None) -> dict[str, Topic]:
    doc = yaml.safe_load(((folder or schemas_dir()) / "topics.yaml").read_text())
    return {
        key: Topic(key=key, name=prefix + spec["name"], partitions=int(spec["partitions"]),
                   retention_ms=int(spec["retention_ms"]), schemas=tuple(spec["schemas"]),
                   description=spec.get("description", ""))
        for key, spec in doc["topics"].items()
    }


def migrations_dir(folder: Path | None = None) -> Path:
    return (folder or schemas_dir()) / "migrations"
