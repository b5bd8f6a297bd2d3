"""The JSON Schema of every `--json` document, generated from the same typed result classes the serialiser writes.

Every command's document is a dataclass (see DOCUMENTS). pydantic (already installed with Typer) turns its type hints
into JSON Schema (draft 2020-12); this module then makes the schema as strict as the serialiser is exact: every field
is always written, so every property is required and no other property is allowed, and the top level carries
`schema_version`. The generated schemas are shipped in the package (`ddl_cascade/schemas/<command>.json`, written
by `scripts/schemas`), `ddl-cascade schema COMMAND` prints them, and the tests hold every command's real output to
them and check the shipped files are current.
"""

from __future__ import annotations

import importlib
import json
from importlib import resources
from typing import Any

from ddl_cascade.errors import CascadeError
from ddl_cascade.render.json import SCHEMA_VERSION

# command -> "module:Class" of its --json document
DOCUMENTS: dict[str, str] = {
    "publish": "ddl_cascade.cascade.publish:PublishResult",
    "status": "ddl_cascade.cascade.results:StatusReport",
    "sync": "ddl_cascade.cascade.results:CascadeReport",
    "reset": "ddl_cascade.cascade.results:CascadeReport",
    "full": "ddl_cascade.cascade.results:FullReport",
    "validate": "ddl_cascade.validate.model:ValidateReport",
    "db verify": "ddl_cascade.db.results:VerifyRun",
    "db migrate": "ddl_cascade.db.results:MigrationRun",
    "db status": "ddl_cascade.db.results:HistoryStatus",
    "db repair": "ddl_cascade.db.results:RepairReport",
    "db clean": "ddl_cascade.db.results:CleanReport",
    "db diff": "ddl_cascade.db.diff:SchemaDiff",
    "db drift": "ddl_cascade.db.results:DriftReport",
    "demo": "ddl_cascade.demo:DemoReport",
    "guard": "ddl_cascade.guard:GuardReport",
    "doctor": "ddl_cascade.cascade.doctor:DoctorReport",
    "promote": "ddl_cascade.cascade.promote:PromoteResult",
}


def file_name(command: str) -> str:
    return command.replace(" ", "-") + ".json"


def document_class(command: str) -> type:
    module, _, name = DOCUMENTS[command].partition(":")
    return getattr(importlib.import_module(module), name)


def generate(command: str) -> dict[str, Any]:
    """The schema of `command`'s document, from its class (needs pydantic)."""
    from pydantic import TypeAdapter

    cls = document_class(command)
    raw = TypeAdapter(cls).json_schema(mode="serialization")
    _strict(raw)
    for definition in raw.get("$defs", {}).values():
        _strict(definition)
    properties = {"schema_version": {"const": SCHEMA_VERSION, "type": "integer"}, **raw["properties"]}
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:ddl-cascade:schema:v{SCHEMA_VERSION}:{command.replace(' ', '-')}",
        "title": f"ddl-cascade {command} --json",
        "description": (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if "$defs" in raw:
        schema["$defs"] = raw["$defs"]
    return schema


def _strict(node: dict[str, Any]) -> None:
    """Every property of an object is always written: require them all and allow nothing else."""
    if node.get("type") == "object" and "properties" in node:
        node["required"] = list(node["properties"])
        node["additionalProperties"] = False
        for prop in node["properties"].values():
            prop.pop("default", None)  # the serialiser always writes the value; a default would only mislead


def text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def shipped(command: str) -> str:
    """The schema file shipped in the package for `command` (what `ddl-cascade schema COMMAND` prints)."""
    if command not in DOCUMENTS:
        raise CascadeError(f"no JSON document for '{command}'; commands with --json: {', '.join(DOCUMENTS)}.")
    return resources.files("ddl_cascade").joinpath("schemas", file_name(command)).read_text(encoding="utf-8")
