"""Gitea's published REST contract, as the local Gitea (tests/localforge_gitea.py) holds requests and responses to it.

The contract is the swagger (OpenAPI 2.0) description that Gitea serves at /swagger.v1.json, taken from Gitea's own
source (`templates/swagger/v1_json.tmpl` in the Go module code.gitea.io/gitea) by `scripts/ensure-gitea-spec`
(`make gitea-spec`) into `.forge-spec/gitea/`. It is 0.9 MB; operations are found by method and path template and
their schemas are built lazily, as in tests/localforge_spec.py (GitHub's OpenAPI 3 description).

How Swagger 2.0 differs from OpenAPI 3, and what is done about it:

- Parameters carry their type themselves (`type`, `format`, `enum`, `items`, `collectionFormat: multi`), and the body
  is the parameter `in: body` with a `schema`; schemas live under `#/definitions/`, whole responses under
  `#/responses/` (some have no schema: Gitea's error answers `{"message", "url"}` are described as headers).
- Gitea's description says nothing of `null`, yet Gitea's Go structs serialise nil pointers and slices as `null`
  (`merged_at`, `merged_by`, `milestone`, `assignees` …): a `null` is accepted for every property of an object.
- Request bodies are held tighter than Gitea holds them: Gitea ignores a field it does not know (a GitHub-ism such
  as `draft`, or `labels` given by name on `POST /pulls`), which is almost surely a client's mistake, so an unknown
  field in a request body is a violation.
- A status the description does not list is a violation, except those Gitea is known to send (`UNDOCUMENTED`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(os.environ.get("FORGE_SPEC_DIR", ROOT / ".forge-spec")).resolve() / "gitea"
SPEC_FILE = SPEC_DIR / "swagger.v1.json"
_URN = "urn:gitea:definitions:"
# Statuses Gitea answers that its description does not list: (operationId, status) -> where Gitea says so.
UNDOCUMENTED = {
    ("repoMergePullRequest", 201): "routers/api/v1/repo/pull.go MergePullRequest: a merge scheduled by "
                                   "merge_when_checks_succeed answers 201 Created, with no body",
}


class SpecUnavailable(Exception):
    pass


class Violation(Exception):
    """A request or response that Gitea's contract does not allow; `status` is what Gitea answers a bad request."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    raw: dict

    @property
    def is_write(self) -> bool:
        return self.method not in ("get", "head")


_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value))


def ensure_installed() -> None:
    import fcntl

    SPEC_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(SPEC_DIR.parent / ".lock-gitea", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-gitea-spec")], capture_output=True, text=True,
                              timeout=600)
    if proc.returncode != 0 or not SPEC_FILE.exists():
        message = (proc.stderr.strip().splitlines() or ["ensure-gitea-spec failed"])[-1]
        raise SpecUnavailable(f"Gitea's swagger description is not installed for the local Gitea: {message}")


class Spec:
    def __init__(self, document: dict) -> None:
        if document.get("swagger") != "2.0":
            raise SpecUnavailable(f"{SPEC_FILE} is not a swagger 2.0 description")
        self.document = document
        self.version = document["info"]["version"]
        self.base_path = document.get("basePath", "")
        self._routes: list[tuple[int, re.Pattern, str]] = []
        for template in document["paths"]:
            pattern = "".join(f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]+\})", template))
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            self._routes.append((literal, re.compile(pattern + "$"), template))
        self._routes.sort(key=lambda row: -row[0])
        self.registry = Registry(retrieve=self._retrieve)
        self._validators: dict[tuple, jsonschema.protocols.Validator] = {}
        self._resources: dict[str, Resource] = {}
        self._lock = threading.Lock()
        self._resource_lock = threading.Lock()

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for `method` on `path` (below the base path) and its path parameters, or None."""
        for _, pattern, template in self._routes:
            m = pattern.match(path)
            if m is not None and method.lower() in self.document["paths"][template]:
                raw = self.document["paths"][template][method.lower()]
                return Operation(method.lower(), template, raw.get("operationId", ""), raw), m.groupdict()
        return None

    # --- requests ----------------------------------------------------------------------------------------------------

    def check_request(self, op: Operation, path_params: dict[str, str], query: dict[str, list[str]],
                      body: object, has_body: bool) -> dict[str, object]:
        values: dict[str, object] = {}
        body_param = None
        declared_query = set()
        for param in self._parameters(op):
            where, name = param["in"], param["name"]
            if where == "body":
                body_param = param
                continue
            if where == "query":
                declared_query.add(name)
            if where not in ("path", "query"):
                continue
            raw = [path_params[name]] if where == "path" and name in path_params else query.get(name, [])
            if not raw:
                if param.get("required"):
                    raise Violation(f"[{name}]: Required", status=422)
                continue
            schema = {k: v for k, v in param.items() if k in ("type", "format", "enum", "minimum", "maximum",
                                                                "items", "pattern")}
            if param.get("type") == "array":
                value: object = [_coerce(item, param.get("items", {})) for item in raw]
            else:
                value = _coerce(raw[-1], param)
            self._check(("param", op.method, op.template, where, name), schema, value,
                        f"[{name}]: invalid value {raw[-1]!r}")
            values[name] = value
        unknown = sorted(set(query) - declared_query - {"token", "access_token"})
        if unknown:
            raise Violation(f"unknown query parameter(s) for {op.operation_id}: {', '.join(unknown)}")
        if body_param is None:
            if has_body:
                raise Violation(f"{op.operation_id} takes no request body")
            return values
        if not has_body:
            if body_param.get("required"):
                raise Violation("a request body is required")
            return values
        self._check(("body", op.method, op.template), body_param["schema"], body, "body", strict=True)
        return values

    # --- responses ---------------------------------------------------------------------------------------------------

    def check_response(self, op: Operation, status: int, body: object) -> None:
        responses = op.raw.get("responses", {})
        spec = responses.get(str(status)) or responses.get("default")
        if spec is None:
            if (op.operation_id, status) in UNDOCUMENTED:
                return
            if status in (401, 403, 404, 422, 429, 500):
                # Said by Gitea on any operation (authentication, permissions, a reverse proxy's rate limit).
                _check_error(body)
                return
            raise Violation(f"status {status} is not documented for {op.operation_id}")
        if "$ref" in spec:
            spec = self.document["responses"][spec["$ref"].rsplit("/", 1)[1]]
        schema = spec.get("schema")
        if schema is None:
            if status >= 400:
                if body is not None:
                    _check_error(body)
                return
            if body is not None:
                raise Violation(f"{op.operation_id} answers {status} without a body, but a body was sent")
            return
        self._check(("response", op.method, op.template, status), schema, body, "response")

    # --- schemas -----------------------------------------------------------------------------------------------------

    def _parameters(self, op: Operation) -> list[dict]:
        out = []
        for param in op.raw.get("parameters", []):
            if "$ref" in param:
                param = self.document["parameters"][param["$ref"].rsplit("/", 1)[1]]
            out.append(param)
        return out

    def _check(self, key: tuple, schema: dict, instance: object, lead: str, strict: bool = False) -> None:
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                translated = _translate(schema)
                if strict:
                    translated = {"allOf": [translated], **self._closed(schema)}
                validator = jsonschema.Draft4Validator(translated, registry=self.registry,
                                                       format_checker=_FORMATS)
                self._validators[key] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is None:
            return
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        if lead in ("response", "body"):
            raise Violation(f"{'' if lead == 'response' else 'request body '}at {where}: {error.message}")
        raise Violation(lead)

    def _closed(self, schema: dict) -> dict:
        """`{"properties": {each: {}}, "additionalProperties": false}` for a request body's own object."""
        if "$ref" in schema:
            schema = self.document["definitions"][schema["$ref"].rsplit("/", 1)[1]]
        if schema.get("type") != "object" or "properties" not in schema:
            return {}
        return {"properties": {name: {} for name in schema["properties"]}, "additionalProperties": False}

    def _retrieve(self, uri: str) -> Resource:
        if not uri.startswith(_URN):
            raise LookupError(uri)
        with self._resource_lock:
            resource = self._resources.get(uri)
            if resource is None:
                schema = self.document["definitions"][uri[len(_URN):]]
                resource = Resource.from_contents(_translate(schema), default_specification=DRAFT4)
                self._resources[uri] = resource
        return resource


def _check_error(body: object) -> None:
    """Gitea's error answer: `{"message": …, "url": …}` (APIError), sometimes with `errors`."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        raise Violation(f"an error answer is not Gitea's {{\"message\", \"url\"}}: {body!r}")


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


_ANNOTATIONS = ("description", "example", "x-go-name", "x-go-package", "x-go-enum-desc", "readOnly", "xml",
                "externalDocs", "discriminator", "title")


def _translate(schema: object, *, in_object: bool = False) -> object:
    """Swagger 2.0 schema -> JSON Schema draft 4 with Gitea's nulls (see the module docstring)."""
    if isinstance(schema, list):
        return [_translate(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/definitions/"):
            raise ValueError(f"unsupported $ref {ref}")
        out: dict = {"$ref": _URN + ref.rsplit("/", 1)[1]}
    else:
        out = {}
        for key, value in schema.items():
            if key == "properties":
                out[key] = {name: _translate(sub, in_object=True) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "allOf", "not"):
                out[key] = _translate(value)
            elif key in _ANNOTATIONS or key.startswith("x-"):
                continue
            elif key == "format" and value != "date-time":
                continue    # int64, email, uri …: not checked (Gitea does not either)
            else:
                out[key] = value
    if in_object:
        return {"anyOf": [{"type": "null"}, out]}
    return out


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
