"""values.schema.json and the values table of the chart README, both generated from values.yaml.

Every value in values.yaml must carry a `# -- description` comment; `# @schema {json}` lines add JSON
Schema keywords (enum, minimum, $ref, additionalProperties, items ...) to the value that follows. Types
come from the defaults. Objects are closed (additionalProperties false) unless `@schema` opens them, so
a typo in a values file fails `helm lint` and `helm install` instead of being ignored.

    PYTHONPATH=charts python -m deploy.values_schema           # write values.schema.json and README.md
    PYTHONPATH=charts python -m deploy.values_schema --check   # fail when either is stale or a value is undocumented
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deploy import generated

CHART = Path(__file__).resolve().parents[2] / "charts" / "animerec"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/]+):(?:\s|$)")
BEGIN, END = "<!-- values:begin -->", "<!-- values:end -->"

QUANTITY = {"type": ["string", "number"]}
DEFS: dict[str, Any] = {
    "resources": {
        "type": "object",
        "description": "Container resources (requests and limits).",
        "additionalProperties": False,
        "required": ["requests", "limits"],
        "properties": {
            part: {"type": "object", "additionalProperties": QUANTITY, "required": ["cpu", "memory"],
                   "properties": {"cpu": QUANTITY, "memory": QUANTITY}}
            for part in ("requests", "limits")
        },
    },
}


@dataclass
class Doc:
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)


class ValuesError(ValueError):
    pass


def parse_docs(text: str) -> dict[tuple[str, ...], Doc]:
    """Map each key path of values.yaml to the `# --` comment and `# @schema` lines right above it."""
    docs: dict[tuple[str, ...], Doc] = {}
    stack: list[tuple[int, str]] = []
    pending: Doc | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            pending = None
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if stripped.startswith("# --"):
                pending = Doc(description=stripped[4:].strip())
            elif stripped.startswith("# @schema"):
                pending = pending or Doc()
                try:
                    pending.schema.update(json.loads(stripped[len("# @schema"):]))
                except json.JSONDecodeError as exc:
                    raise ValuesError(f"values.yaml:{number}: bad @schema JSON: {exc}") from None
            elif pending is not None and pending.description:
                pending.description += " " + body
            continue
        match = KEY.match(line)
        if not match or stripped.startswith("-"):
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        docs[tuple(k for _, k in stack)] = pending or Doc()
        pending = None
    return docs


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise ValuesError(f"unsupported default {value!r}")


def build_schema(values: dict[str, Any], docs: dict[tuple[str, ...], Doc]) -> tuple[dict[str, Any], list[str]]:
    missing: list[str] = []

    def node(path: tuple[str, ...], value: Any) -> dict[str, Any]:
        doc = docs.get(path)
        if doc is None or not doc.description:
            missing.append(".".join(path))
            doc = doc or Doc()
        if "$ref" in doc.schema:
            return {"description": doc.description, **doc.schema}
        schema: dict[str, Any] = {"type": _type(value), "description": doc.description}
        if isinstance(value, dict) and "additionalProperties" not in doc.schema:
            schema["additionalProperties"] = False
            schema["properties"] = {k: node((*path, k), v) for k, v in value.items()}
        schema.update(doc.schema)
        return schema

    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "animerec chart values",
        "type": "object",
        "additionalProperties": False,
        "properties": {k: node((k,), v) for k, v in values.items()},
        "$defs": DEFS,
    }
    return root, missing


def rows(schema: dict[str, Any], values: dict[str, Any], prefix: str = "") -> list[tuple[str, str, str, str]]:
    out = []
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        value = values.get(key)
        if "properties" in sub:
            out.extend(rows(sub, value or {}, path + "."))
            continue
        kind = sub.get("type") or sub.get("$ref", "").rsplit("/", 1)[-1]
        default = json.dumps(value, separators=(", ", ": ")) if value not in ("", None) else '`""`'
        default = default if default.startswith("`") else f"`{default}`"
        out.append((f"`{path}`", str(kind), default.replace("|", "\\|"), sub.get("description", "")))
    return out


def readme(schema: dict[str, Any], values: dict[str, Any], current: str) -> str:
    table = ["| key | type | default | description |", "|---|---|---|---|"]
    table += ["| " + " | ".join(r) + " |" for r in rows(schema, values)]
    block = f"{BEGIN}\n" + "\n".join(table) + f"\n{END}"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    return current.rstrip() + "\n\n## Values\n\n" + block + "\n"


def generate(chart: Path = CHART) -> dict[Path, str]:
    text = (chart / "values.yaml").read_text()
    values = yaml.safe_load(text)
    schema, missing = build_schema(values, parse_docs(text))
    if missing:
        raise ValuesError("values without a '# --' description: " + ", ".join(missing))
    readme_path = chart / "README.md"
    current = readme_path.read_text() if readme_path.exists() else "# animerec chart\n"
    return {
        chart / "values.schema.json": json.dumps(schema, indent=2) + "\n",
        readme_path: readme(schema, values, current),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the generated files are stale")
    parser.add_argument("--chart", type=Path, default=CHART)
    args = parser.parse_args(argv)
    try:
        files = generate(args.chart)
    except ValuesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return generated.sync(files.items(), check=args.check, target="chart-docs")


if __name__ == "__main__":
    sys.exit(main())
