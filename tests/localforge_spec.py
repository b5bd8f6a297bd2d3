"""GitHub's published REST contract, as the local forge (tests/localforge.py) holds requests and responses to it.

The contract is the OpenAPI 3.0.3 description that GitHub publishes (github/rest-api-description), read from the npm
package `@octokit/openapi` that `scripts/ensure-forge-spec` (`make forge-spec`) installs into `.forge-spec/`. We use
`api.github.com.json`, the dereferenced-free variant (13 MB, about 0.25 s for `json.load`, once per process).

Why not a library such as openapi-core: it builds validators for the whole document up front (seconds for GitHub's
900 paths) and we need only a dozen operations. Here everything is lazy and cached: an operation is found by method
and path template, its schemas are translated from OpenAPI 3.0 to JSON Schema 2020-12 on first use, and `$ref`s to
`#/components/schemas/X` are resolved through a `referencing` registry whose retrieval translates that one component
and remembers it. The 3.0 dialect differs from JSON Schema only in ways that matter here: `nullable: true` (an extra
`null` type), sibling keywords beside a `$ref` are ignored, and `discriminator`/`example`/`x-*` are annotations.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(os.environ.get("FORGE_SPEC_DIR", ROOT / ".forge-spec")).resolve()  # as scripts/ensure-forge-spec
PACKAGE = SPEC_DIR / "node_modules" / "@octokit" / "openapi"
SPEC_FILE = PACKAGE / "generated" / "api.github.com.json"
_SCHEMA_URN = "urn:github:schemas:"
# Path parameters whose values hold slashes (`heads/main`), when they end the template.
_GREEDY = {"ref", "path", "branch"}


class SpecUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Operation:
    method: str
    template: str            # "/repos/{owner}/{repo}/pulls"
    operation_id: str        # "pulls/create"
    raw: dict

    @property
    def is_write(self) -> bool:
        return self.method not in ("get", "head")


class Violation(Exception):
    """A request or response that GitHub's contract does not allow; `message` reads like GitHub's own."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value))


@_FORMATS.checks("uri", raises=ValueError)
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", value))


def ensure_installed() -> None:
    """Install the pinned package unless it is there (the script checks the version; whichever test process comes
    first installs it); one clear line when impossible."""
    import fcntl

    SPEC_DIR.mkdir(parents=True, exist_ok=True)
    with open(SPEC_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-forge-spec")], capture_output=True, text=True,
                              timeout=600)
    if proc.returncode != 0 or not SPEC_FILE.exists():
        message = (proc.stderr.strip().splitlines() or ["ensure-forge-spec failed"])[-1]
        raise SpecUnavailable(f"GitHub's OpenAPI description is not installed for the local forge: {message}")


class Spec:
    """One loaded description: operation lookup and cached validators."""

    def __init__(self, document: dict) -> None:
        self.document = document
        self.version = json.loads((PACKAGE / "package.json").read_text())["version"]
        self._components = document["components"]
        self._by_length: dict[int, list[tuple[int, list[str], str]]] = {}
        for template in document["paths"]:
            parts = template.strip("/").split("/")
            literal = sum(1 for p in parts if not p.startswith("{"))
            self._by_length.setdefault(len(parts), []).append((literal, parts, template))
        for rows in self._by_length.values():
            rows.sort(key=lambda row: -row[0])
        self._greedy = [(parts, template) for rows in self._by_length.values() for _, parts, template in rows
                        if parts[-1].strip("{}") in _GREEDY]
        self.registry = Registry(retrieve=self._retrieve)
        self._validators: dict[tuple, jsonschema.protocols.Validator] = {}
        self._lock = threading.Lock()

    # --- finding the operation ---------------------------------------------------------------------------------

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for `method` on `path` (below /api/v3) and its path parameters, or None (GitHub's 404)."""
        parts = path.strip("/").split("/")
        for _, template_parts, template in self._by_length.get(len(parts), []):
            params = _match(template_parts, parts)
            if params is not None and method.lower() in self.document["paths"][template]:
                return self._operation(method, template), params
        for template_parts, template in self._greedy:
            head = len(template_parts) - 1
            if len(parts) > len(template_parts) and method.lower() in self.document["paths"][template]:
                params = _match(template_parts[:head], parts[:head])
                if params is not None:
                    params[template_parts[-1].strip("{}")] = "/".join(parts[head:])
                    return self._operation(method, template), params
        return None

    def _operation(self, method: str, template: str) -> Operation:
        raw = self.document["paths"][template][method.lower()]
        return Operation(method.lower(), template, raw.get("operationId", ""), raw)

    # --- validation ----------------------------------------------------------------------------------------------

    def check_request(self, op: Operation, path_params: dict[str, str], query: dict[str, list[str]],
                      body: object, has_body: bool) -> dict[str, object]:
        """The typed parameters of a request that GitHub would accept; `Violation` (GitHub's 422) otherwise."""
        values: dict[str, object] = {}
        declared = {}
        for param in self._parameters(op):
            declared[(param["in"], param["name"])] = param
        for (where, name), param in declared.items():
            if where == "path":
                raw = [path_params[name]] if name in path_params else []
            elif where == "query":
                raw = query.get(name, [])
            else:
                continue
            if not raw:
                if param.get("required"):
                    raise Violation(f"Invalid request.\n\n\"{name}\" wasn't supplied.")
                continue
            schema = param.get("schema", {})
            value = _coerce(raw[-1], schema)
            self._check(("param", op.method, op.template, where, name), schema, value,
                        f"Invalid request.\n\nInvalid value for parameter '{name}': {raw[-1]!r}")
            values[name] = value
        unknown = sorted(set(query) - {name for where, name in declared if where == "query"})
        if unknown:
            # GitHub ignores unknown query parameters; a client sending one is still almost surely wrong.
            raise Violation(f"Invalid request.\n\nUnknown query parameter(s) for {op.operation_id}: "
                            + ", ".join(unknown))
        request_body = op.raw.get("requestBody")
        if request_body is None:
            return values
        if not has_body:
            if request_body.get("required"):
                raise Violation("Invalid request.\n\nA request body is required.")
            return values
        content = request_body.get("content", {})
        schema = (content.get("application/json") or next(iter(content.values()), {})).get("schema")
        if schema is not None:
            self._check(("body", op.method, op.template), schema, body, None)
        return values

    def check_response(self, op: Operation, status: int, body: object) -> None:
        """Raise `Violation` when `body` is not what GitHub documents for `status` of `op`."""
        responses = op.raw.get("responses", {})
        spec = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if spec is None:
            if status in (400, 401, 403, 404, 422, 429, 500, 502, 503):
                # Said by GitHub on any operation (auth, rate limits, outages) though rarely documented per operation.
                self._check(("error",), {"$ref": "#/components/schemas/basic-error"}, body, "response")
                return
            raise Violation(f"status {status} is not documented for {op.operation_id}")
        if "$ref" in spec:
            spec = self._components["responses"][spec["$ref"].rsplit("/", 1)[1]]
        content = spec.get("content")
        if not content and body is not None and status >= 400:
            # Documented without a body (e.g. "422 if user is not a collaborator"); GitHub still sends its error.
            self._check(("error",), {"$ref": "#/components/schemas/basic-error"}, body, "response")
            return
        if not content:
            if body is not None:
                raise Violation(f"{op.operation_id} answers {status} without a body, but a body was sent")
            return
        schema = (content.get("application/json") or next(iter(content.values()))).get("schema")
        if schema is not None:
            self._check(("response", op.method, op.template, status), schema, body, "response")

    def check_component(self, name: str, instance: object) -> None:
        """Hold `instance` to `#/components/schemas/<name>` (for documents not tied to one operation)."""
        self._check(("component", name), {"$ref": f"#/components/schemas/{name}"}, instance, "response")

    def _parameters(self, op: Operation) -> list[dict]:
        out = []
        for param in op.raw.get("parameters", []):
            if "$ref" in param:
                param = self._components["parameters"][param["$ref"].rsplit("/", 1)[1]]
            out.append(param)
        return out

    def _check(self, key: tuple, schema: dict, instance: object, lead: str | None) -> None:
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                validator = jsonschema.Draft202012Validator(
                    _translate(schema), registry=self.registry, format_checker=_FORMATS)
                self._validators[key] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is None:
            return
        if lead == "response":
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise Violation(f"at {where}: {error.message}")
        if lead is not None:
            raise Violation(lead)
        raise Violation("Invalid request.\n\n" + _github_wording(error))

    def _retrieve(self, uri: str) -> Resource:
        return _component_resource(self, uri)


@functools.lru_cache(maxsize=None)
def _component_resource(spec: Spec, uri: str) -> Resource:
    if not uri.startswith(_SCHEMA_URN):
        raise LookupError(uri)
    schema = spec.document["components"]["schemas"][uri[len(_SCHEMA_URN):]]
    return Resource.from_contents(_translate(schema), default_specification=DRAFT202012)


def _match(template_parts: list[str], parts: list[str]) -> dict[str, str] | None:
    params = {}
    for want, got in zip(template_parts, parts):
        if want.startswith("{"):
            if not got:
                return None
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


def _coerce(raw: str, schema: dict) -> object:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def _translate(schema: object) -> object:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12 (see the module docstring)."""
    if isinstance(schema, list):
        return [_translate(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref.startswith("#/components/schemas/"):
            return {"$ref": _SCHEMA_URN + ref.rsplit("/", 1)[1]}
        raise ValueError(f"unsupported $ref {ref}")
    out = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: _translate(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = _translate(value)
        elif key in ("nullable", "discriminator", "example", "examples", "xml", "externalDocs", "deprecated") \
                or key.startswith("x-"):
            continue
        else:
            out[key] = value
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _github_wording(error: jsonschema.ValidationError) -> str:
    """A body validation error worded as GitHub words it ("\"head\" wasn't supplied.", "For 'properties/draft', ...")."""
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return f"\"{missing[0] if missing else error.message}\" wasn't supplied."
    where = "/".join(f"properties/{p}" if isinstance(p, str) else f"items/{p}" for p in error.absolute_path)
    if error.validator == "type":
        return f"For '{where or 'body'}', {json.dumps(error.instance)} is not {_article(error.validator_value)}."
    if error.validator == "enum":
        return f"For '{where or 'body'}', {json.dumps(error.instance)} is not a member of {error.validator_value}."
    return f"For '{where or 'body'}', {error.message}."


def _article(kind: object) -> str:
    kind = kind[0] if isinstance(kind, list) else kind
    return f"an {kind}" if str(kind)[0] in "aeiou" else f"a {kind}"


_loaded: Spec | None = None
_load_lock = threading.Lock()


def spec() -> Spec:
    """The description, loaded once per process (installed first when missing)."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            ensure_installed()
            with open(SPEC_FILE, "rb") as fh:
                _loaded = Spec(json.load(fh))
        return _loaded
