"""The data contracts in `schemas/`: event JSON Schemas, the topic list, SQL migrations."""

from __future__ import annotations

import calendar
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
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


class Validator:
    """One event schema, compiled (jsonschema-rs) for the yes/no, with jsonschema as the reference for the why.

    The compiled validator answers every message; only an invalid one goes through jsonschema, whose
    `best_match` gives the error text, so messages read the same as before compilation. Formats are
    checked by jsonschema's own format functions inside the compiled validator, so both agree on them.
    """

    def __init__(self, name: str, compiled: Any, reference: Draft202012Validator) -> None:
        self.name = name
        self.compiled = compiled
        self.reference = reference

    def is_valid(self, message: Any) -> bool:
        try:
            return bool(self.compiled.is_valid(message))
        except (ValueError, TypeError, OverflowError):  # a value the compiled side cannot represent
            return bool(self.reference.is_valid(message))

    def error(self, message: Any) -> str | None:
        """`field.path: reason` of the most relevant violation, or None for a valid message."""
        if self.is_valid(message):
            return None
        error = best_match(self.reference.iter_errors(message))
        if error is None:  # the reference is the arbiter: it found nothing wrong
            return None
        where = ".".join(str(p) for p in error.absolute_path) or "(message)"
        return f"{where}: {error.message}"


def _format_function(checker: FormatChecker, name: str):
    func, raises = checker.checkers[name]

    def conforms(value: str) -> bool:
        try:
            return bool(func(value))
        except raises:
            return False
    return conforms


# Every format jsonschema-rs checks on its own; each is replaced by jsonschema's verdict.
_COMPILED_FORMATS = ("date", "date-time", "duration", "email", "hostname", "idn-email", "idn-hostname", "ipv4", "ipv6",
                     "iri", "iri-reference", "json-pointer", "regex", "relative-json-pointer", "time", "uri",
                     "uri-reference", "uri-template", "uuid")


def _unchecked(value: str) -> bool:
    return True


def _fast_datetime(checker: FormatChecker):
    """jsonschema's date-time verdict (rfc3339_validator on the upper-cased text) in one call instead of five.

    Every event carries one or two date-times, and the compiled validator calls back into Python for each: the
    library's checker computes the month's length with calendar.monthrange (a weekday and all) every time. Same
    regular expression, same verdicts (test_contracts compares them); None when jsonschema checks date-time some
    other way, so its own function stays.
    """
    try:
        from jsonschema._format import is_datetime
        from rfc3339_validator import RFC3339_REGEX
    except ImportError:
        return None
    if checker.checkers.get("date-time", (None,))[0] is not is_datetime:
        return None
    match = RFC3339_REGEX.match
    month_days = ("", "31", "28", "31", "30", "31", "30", "31", "31", "30", "31", "30", "31")

    def conforms(value: str) -> bool:
        if not isinstance(value, str):
            return True
        found = match(value.upper())
        if found is None:
            return False
        year, month, day = found.groups()  # two ASCII digits each for month and day: text order is number order
        if year == "0000" or day == "00":
            return False
        if day <= month_days[int(month)]:
            return True
        return month == "02" and day == "29" and calendar.isleap(int(year))
    return conforms


@functools.lru_cache(maxsize=4)
def _load(folder: Path) -> tuple[dict[str, Validator], dict[str, dict[str, Any]]]:
    """The one validator cache of the code base: every schema compiled once per contracts folder."""
    raw = {}
    for path in sorted((folder / "events").glob("*.v1.json")):
        raw[path.name.removesuffix(".v1.json")] = json.loads(path.read_text())
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in raw.values()
    )
    checker = FormatChecker()
    compiled_registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in raw.values()])
    # Formats jsonschema leaves unchecked (uri without rfc3987, say) must pass the compiled side too.
    formats = {name: _unchecked for name in _COMPILED_FORMATS}
    formats.update({name: _format_function(checker, name) for name in checker.checkers})
    fast_datetime = _fast_datetime(checker)
    if fast_datetime is not None:
        formats["date-time"] = fast_datetime
    validators = {
        name: Validator(
            name,
            jsonschema_rs.Draft202012Validator(doc, registry=compiled_registry, validate_formats=True,
                                               formats=formats, ignore_unknown_formats=True),
            Draft202012Validator(doc, registry=registry, format_checker=checker),
        )
        for name, doc in raw.items() if not name.startswith("_")
    }
    return validators, raw


def event_schemas(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _load(folder or schemas_dir())[1].items() if not k.startswith("_")}


def definition(name: str, folder: Path | None = None) -> dict[str, Any]:
    """A shared definition of schemas/events/_defs.v1.json (e.g. "user_name"): the one source services read
    their rules from."""
    return _load(folder or schemas_dir())[1]["_defs"]["$defs"][name]


def user_name_pattern(folder: Path | None = None) -> str:
    """The MAL user-name rule of the event schemas without its anchors, for use inside larger patterns."""
    return str(definition("user_name", folder)["pattern"]).removeprefix("^").removesuffix("$")


def validator(name: str, folder: Path | None = None) -> Validator:
    validators = _load(folder or schemas_dir())[0]
    try:
        return validators[name]
    except KeyError:
        raise SchemaError(name, f"unknown event schema (known: {', '.join(sorted(validators))})") from None


def validate(name: str, message: Any) -> None:
    """Raise SchemaError with the most relevant violation, as `field.path: reason`."""
    error = validator(name).error(message)
    if error is not None:
        raise SchemaError(name, error)


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
