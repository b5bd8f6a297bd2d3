"""The GitLab REST contract the local GitLab (tests/localforge_gitlab.py) holds every request and response to.

HAND-WRITTEN, not GitLab's published description. GitLab publishes an OpenAPI description of its REST API
(`doc/api/openapi/openapi_v2.yaml` in the gitlab-org/gitlab repository, generated from the Grape declarations; a v3
one is newer), but no package on a registry this project can reach ships it: none of npm, PyPI, crates.io, Maven
Central or the Go module proxy has a package carrying it (python-gitlab, @gitbeaker/* and the other clients ship
code, not the description), and the machines reach no other host. Its merge-request operations also described the
parameters only: the response entities (`API_Entities_MergeRequest`) stayed untyped for years (gitlab-org/gitlab
issue 383518). So what follows is a small contract written from GitLab's API docs ("Merge requests API", "Notes API"
for a merge request's comments, "Users API", "REST API" for errors, pagination and authentication), cross-checked
with the parameters python-gitlab's source declares (`ProjectMergeRequestManager._create_attrs`, `_update_attrs`,
`_list_filters`, `merge()`, `ProjectMergeRequestNoteManager._create_attrs`, `_update_attrs`):

- each operation ddl-cascade uses, found by method and path; an unknown one is GitLab's 404;
- its query parameters: names (an unknown one is a violation: GitLab ignores it, but a client sending it is almost
  surely wrong), types and allowed values;
- its JSON body: the documented properties only (`additionalProperties: false`), their types and enums, the required
  ones, GitLab's limits (a title of at most 255 characters, a description of at most 1,048,576, a note's body of at
  most 1,000,000);
- its responses: the fields GitLab documents for a merge request, a user and an error, with their types.

A project id in a path is a number or a URL-encoded full path (`group%2Fsub%2Fproject`), never a raw path.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import jsonschema

SOURCE = "hand-written from GitLab's API docs (no registry ships GitLab's OpenAPI description)"


class Violation(Exception):
    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _nullable(schema: dict) -> dict:
    return {"anyOf": [{"type": "null"}, schema]}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DATE_TIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"}
SHA = {"type": "string", "pattern": "^[0-9a-f]{40}$"}
LABELS = {"anyOf": [STRING, {"type": "array", "items": STRING}]}  # comma-separated string or array
IDS = {"type": "array", "items": INTEGER}

USER = {
    "type": "object",
    "required": ["id", "username", "name", "state", "avatar_url", "web_url"],
    "properties": {"id": INTEGER, "username": STRING, "name": STRING, "state": STRING, "locked": BOOLEAN,
                   "avatar_url": _nullable(STRING), "web_url": STRING},
}

MERGE_REQUEST = {
    "type": "object",
    "required": ["id", "iid", "project_id", "title", "description", "state", "created_at", "updated_at",
                 "merged_at", "closed_at", "target_branch", "source_branch", "author", "assignees", "reviewers",
                 "source_project_id", "target_project_id", "labels", "draft", "work_in_progress",
                 "merge_when_pipeline_succeeds", "merge_status", "detailed_merge_status", "sha", "merge_commit_sha",
                 "squash_commit_sha", "squash", "has_conflicts", "web_url", "references"],
    "properties": {
        "id": INTEGER, "iid": INTEGER, "project_id": INTEGER, "title": STRING, "description": _nullable(STRING),
        "state": {"enum": ["opened", "closed", "locked", "merged"]},
        "created_at": DATE_TIME, "updated_at": DATE_TIME, "merged_at": _nullable(DATE_TIME),
        "closed_at": _nullable(DATE_TIME), "merged_by": _nullable(USER), "merge_user": _nullable(USER),
        "closed_by": _nullable(USER), "target_branch": STRING, "source_branch": STRING, "author": USER,
        "assignee": _nullable(USER), "assignees": {"type": "array", "items": USER},
        "reviewers": {"type": "array", "items": USER}, "source_project_id": INTEGER, "target_project_id": INTEGER,
        "labels": {"type": "array", "items": STRING}, "draft": BOOLEAN, "work_in_progress": BOOLEAN,
        "merge_when_pipeline_succeeds": BOOLEAN,
        "merge_status": {"enum": ["unchecked", "checking", "can_be_merged", "cannot_be_merged",
                                  "cannot_be_merged_recheck"]},
        "detailed_merge_status": {"enum": [
            "approvals_syncing", "checking", "ci_must_pass", "ci_still_running", "commits_status",
            "conflict", "discussions_not_resolved", "draft_status", "jira_association_missing", "mergeable",
            "merge_request_blocked", "merge_time", "need_rebase", "not_approved", "not_open", "preparing",
            "requested_changes", "security_policy_violations", "status_checks_must_pass", "unchecked",
            "locked_paths", "locked_lfs_files", "title_regex"]},
        "sha": SHA, "merge_commit_sha": _nullable(SHA), "squash_commit_sha": _nullable(SHA), "squash": BOOLEAN,
        "squash_on_merge": BOOLEAN, "has_conflicts": BOOLEAN, "web_url": STRING,
        "references": {"type": "object", "required": ["short", "relative", "full"],
                       "properties": {"short": STRING, "relative": STRING, "full": STRING}},
        "diff_refs": _nullable({"type": "object", "required": ["base_sha", "head_sha", "start_sha"],
                                "properties": {"base_sha": SHA, "head_sha": SHA, "start_sha": SHA}}),
        "head_pipeline": _nullable({"type": "object", "required": ["id", "sha", "ref", "status"],
                                    "properties": {"id": INTEGER, "sha": SHA, "ref": STRING, "status": STRING}}),
    },
}

NOTE = {  # "Notes API": a merge request's comment; `system` notes are GitLab's own ("added 1 commit")
    "type": "object",
    "required": ["id", "body", "author", "created_at", "updated_at", "system", "noteable_id", "noteable_type",
                 "noteable_iid", "project_id", "resolvable", "confidential", "internal"],
    "properties": {
        "id": INTEGER, "type": _nullable(STRING), "body": STRING, "attachment": _nullable(STRING), "author": USER,
        "created_at": DATE_TIME, "updated_at": DATE_TIME, "system": BOOLEAN, "noteable_id": INTEGER,
        "noteable_type": {"enum": ["Issue", "MergeRequest", "Snippet", "Commit", "Epic"]},
        "noteable_iid": _nullable(INTEGER), "project_id": INTEGER, "resolvable": BOOLEAN, "confidential": BOOLEAN,
        "internal": BOOLEAN, "imported": BOOLEAN, "imported_from": STRING,
    },
}
NOTE_BODY = {"type": "string", "minLength": 1, "maxLength": 1_000_000}

ERROR = {  # "400 Bad request - ...", {"message": {"title": ["is too long"]}}, {"error": "..."}
    "type": "object",
    "anyOf": [{"required": ["message"]}, {"required": ["error"]}],
    "properties": {"message": {"anyOf": [STRING, {"type": "object"}, {"type": "array"}]}, "error": STRING},
}

PAGING = {"page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 100}}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str           # "/projects/{id}/merge_requests/{merge_request_iid}"
    operation_id: str
    query: dict             # name -> schema
    body: dict | None       # JSON schema of the body, None when the operation takes none
    responses: dict         # status -> schema (None: no body)

    @property
    def is_write(self) -> bool:
        return self.method not in ("get", "head")


OPERATIONS = [
    Operation("get", "/projects/{id}/merge_requests", "mergeRequests/list", {
        "state": {"enum": ["opened", "closed", "locked", "merged", "all"]},
        "order_by": {"enum": ["created_at", "updated_at", "merged_at", "title", "label_priority", "milestone_due",
                              "popularity", "priority"]},
        "sort": {"enum": ["asc", "desc"]}, "source_branch": STRING, "target_branch": STRING, "labels": STRING,
        "view": {"enum": ["simple"]}, "scope": {"enum": ["created_by_me", "assigned_to_me", "all"]},
        "author_id": INTEGER, "search": STRING, "iids[]": INTEGER, "wip": {"enum": ["yes", "no"]}, **PAGING,
    }, None, {200: {"type": "array", "items": MERGE_REQUEST}}),
    Operation("post", "/projects/{id}/merge_requests", "mergeRequests/create", {}, {
        "type": "object", "additionalProperties": False,
        "required": ["source_branch", "target_branch", "title"],
        "properties": {
            "source_branch": STRING, "target_branch": STRING, "title": {"type": "string", "maxLength": 255},
            "description": {"type": "string", "maxLength": 1_048_576}, "labels": LABELS, "reviewer_ids": IDS,
            "assignee_id": INTEGER, "assignee_ids": IDS, "milestone_id": INTEGER, "remove_source_branch": BOOLEAN,
            "squash": BOOLEAN, "allow_collaboration": BOOLEAN, "allow_maintainer_to_push": BOOLEAN,
            "target_project_id": INTEGER, "approvals_before_merge": INTEGER, "merge_after": DATE_TIME,
        },
    }, {201: MERGE_REQUEST}),
    Operation("get", "/projects/{id}/merge_requests/{merge_request_iid}", "mergeRequests/get", {
        "render_html": BOOLEAN, "include_diverged_commits_count": BOOLEAN, "include_rebase_in_progress": BOOLEAN,
    }, None, {200: MERGE_REQUEST}),
    Operation("put", "/projects/{id}/merge_requests/{merge_request_iid}", "mergeRequests/update", {}, {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "properties": {
            "title": {"type": "string", "maxLength": 255}, "description": {"type": "string", "maxLength": 1_048_576},
            "state_event": {"enum": ["close", "reopen"]}, "labels": LABELS, "add_labels": LABELS,
            "remove_labels": LABELS, "reviewer_ids": IDS, "assignee_id": INTEGER, "assignee_ids": IDS,
            "target_branch": STRING, "milestone_id": INTEGER, "remove_source_branch": BOOLEAN, "squash": BOOLEAN,
            "discussion_locked": BOOLEAN, "allow_collaboration": BOOLEAN, "allow_maintainer_to_push": BOOLEAN,
            "merge_after": DATE_TIME,
        },
    }, {200: MERGE_REQUEST}),
    Operation("put", "/projects/{id}/merge_requests/{merge_request_iid}/merge", "mergeRequests/merge", {}, {
        "type": "object", "additionalProperties": False,
        "properties": {
            "merge_commit_message": STRING, "squash_commit_message": STRING, "squash": BOOLEAN,
            "should_remove_source_branch": BOOLEAN, "merge_when_pipeline_succeeds": BOOLEAN, "auto_merge": BOOLEAN,
            "sha": SHA,
        },
    }, {200: MERGE_REQUEST}),
    Operation("get", "/projects/{id}/merge_requests/{merge_request_iid}/notes", "notes/list", {
        "sort": {"enum": ["asc", "desc"]}, "order_by": {"enum": ["created_at", "updated_at"]}, **PAGING,
    }, None, {200: {"type": "array", "items": NOTE}}),
    Operation("post", "/projects/{id}/merge_requests/{merge_request_iid}/notes", "notes/create", {}, {
        "type": "object", "additionalProperties": False, "required": ["body"],
        "properties": {"body": NOTE_BODY, "created_at": DATE_TIME, "internal": BOOLEAN,
                       "merge_request_diff_head_sha": SHA},
    }, {201: NOTE}),
    Operation("put", "/projects/{id}/merge_requests/{merge_request_iid}/notes/{note_id}", "notes/update", {}, {
        "type": "object", "additionalProperties": False, "required": ["body"], "properties": {"body": NOTE_BODY},
    }, {200: NOTE}),
    Operation("get", "/users", "users/list", {
        "username": STRING, "search": STRING, "active": BOOLEAN, "blocked": BOOLEAN, "humans": BOOLEAN, **PAGING,
    }, None, {200: {"type": "array", "items": USER}}),
]


class Spec:
    source = SOURCE

    def __init__(self) -> None:
        self._validators: dict[int, jsonschema.protocols.Validator] = {}
        self._lock = threading.Lock()

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for `method` on `path` (below /api/v4, still URL-encoded) and its raw path parameters."""
        parts = path.strip("/").split("/")
        for op in OPERATIONS:
            want = op.template.strip("/").split("/")
            if op.method != method.lower() or len(want) != len(parts):
                continue
            params = {}
            for w, got in zip(want, parts):
                if w.startswith("{"):
                    if not got:
                        break
                    params[w[1:-1]] = got
                elif w != got:
                    break
            else:
                return op, params
        return None

    def check_request(self, op: Operation, query: dict[str, list[str]], body: object, has_body: bool) -> dict:
        """Typed query parameters of a request GitLab would take; `Violation` otherwise."""
        values: dict[str, object] = {}
        unknown = sorted(set(query) - set(op.query))
        if unknown:
            raise Violation(f"unknown query parameter(s) for {op.operation_id}: {', '.join(unknown)}")
        for name, raw in query.items():
            value = _coerce(raw[-1], op.query[name])
            self._check(op.query[name], value, f"{name} is invalid")
            values[name] = value
        if op.body is None:
            if has_body:
                raise Violation(f"{op.operation_id} takes no body")
        elif op.body.get("minProperties") and not (isinstance(body, dict) and body):
            raise Violation("at least one parameter must be provided")
        elif op.body.get("required") and not has_body:
            raise Violation(f"{op.body['required'][0]} is missing")
        elif has_body:
            self._check(op.body, body, None)
        return values

    def check_response(self, op: Operation, status: int, body: object) -> None:
        if status >= 400:
            if status not in (400, 401, 403, 404, 405, 406, 409, 422, 429, 500):
                raise Violation(f"status {status} is not one GitLab answers")
            if status != 429:           # GitLab's 429 is the text "Retry later", not JSON
                self._check(ERROR, body, "response")
            return
        if status not in op.responses:
            raise Violation(f"status {status} is not documented for {op.operation_id}")
        self._check(op.responses[status], body, "response")

    def _check(self, schema: dict, instance: object, lead: str | None) -> None:
        key = id(schema)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                validator = self._validators[key] = jsonschema.Draft202012Validator(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is None:
            return
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        if lead == "response":
            raise Violation(f"at {where}: {error.message}")
        if lead is not None:
            raise Violation(lead)
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            raise Violation(f"{missing[0] if missing else error.message} is missing")
        if error.validator == "additionalProperties":
            raise Violation(f"{error.message} (GitLab documents no such parameter)")
        raise Violation(f"{where} is invalid: {error.message}")


def _coerce(raw: str, schema: dict) -> object:
    kind = schema.get("type")
    if kind == "integer":
        return int(raw) if re.fullmatch(r"-?\d+", raw) else raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw
