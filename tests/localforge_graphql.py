"""The local forge's GraphQL endpoint (`POST /api/graphql`): just what ddl-cascade needs of GitHub's GraphQL API.

GraphQL is not in the OpenAPI description, so the request is held to a small hand-written slice of GitHub's schema
(`TYPES` below, names and types as in GitHub's public schema). Supported:

- `mutation { enablePullRequestAutoMerge(input: {pullRequestId, mergeMethod, commitHeadline, commitBody,
  expectedHeadOid, clientMutationId}) { ... } }` and `disablePullRequestAutoMerge(input: {pullRequestId})`;
  with GitHub's refusals: "Pull request Protected branch rules not configured for this branch" (the base is not
  protected, see `LocalForge.protect`), "Pull request Pull request is in clean status" (nothing to wait for);
- batched reads: any number of aliased `repository(owner:, name:) { pullRequests(headRefName:, baseRefName:,
  states:, first:|last:, after:) { totalCount nodes { ... } pageInfo { ... } } pullRequest(number:) { ... } }`,
  `node(id:)` for pull requests, and `rateLimit { ... }`.

Operations with variables (`$name: Type!`) are fine. Fragments and directives are not supported (a violation says so).
A query GitHub would refuse (unknown field or argument, missing argument, wrong enum, a connection without
`first`/`last` or above 100, an undeclared variable) gets GitHub's error and is reported as a violation.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

# type name -> {field: (type, {argument: type})}; "!" non-null, "[T]" list, as in GitHub's schema.
PR_FIELDS = {
    "id": ("ID!", {}), "number": ("Int!", {}), "title": ("String!", {}), "body": ("String!", {}),
    "state": ("PullRequestState!", {}), "isDraft": ("Boolean!", {}), "merged": ("Boolean!", {}),
    "mergedAt": ("DateTime", {}), "closed": ("Boolean!", {}), "closedAt": ("DateTime", {}),
    "createdAt": ("DateTime!", {}), "updatedAt": ("DateTime!", {}), "url": ("URI!", {}), "permalink": ("URI!", {}),
    "headRefName": ("String!", {}), "headRefOid": ("GitObjectID!", {}), "baseRefName": ("String!", {}),
    "baseRefOid": ("GitObjectID!", {}), "mergeable": ("MergeableState!", {}),
    "mergeStateStatus": ("MergeStateStatus!", {}), "mergeCommit": ("Commit", {}),
    "autoMergeRequest": ("AutoMergeRequest", {}), "author": ("Actor", {}), "repository": ("Repository!", {}),
    "labels": ("LabelConnection", {"first": "Int", "last": "Int", "after": "String"}),
    "__typename": ("String!", {}),
}
CONNECTION_ARGS = {"first": "Int", "last": "Int", "after": "String", "before": "String"}
TYPES: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "Query": {
        "repository": ("Repository", {"owner": "String!", "name": "String!", "followRenames": "Boolean"}),
        "node": ("PullRequest", {"id": "ID!"}),
        "rateLimit": ("RateLimit", {"dryRun": "Boolean"}),
    },
    "Mutation": {
        "enablePullRequestAutoMerge": ("EnablePullRequestAutoMergePayload",
                                       {"input": "EnablePullRequestAutoMergeInput!"}),
        "disablePullRequestAutoMerge": ("DisablePullRequestAutoMergePayload",
                                        {"input": "DisablePullRequestAutoMergeInput!"}),
    },
    "Repository": {
        "id": ("ID!", {}), "name": ("String!", {}), "nameWithOwner": ("String!", {}), "url": ("URI!", {}),
        "pullRequest": ("PullRequest", {"number": "Int!"}),
        "pullRequests": ("PullRequestConnection!", {**CONNECTION_ARGS, "states": "[PullRequestState!]",
                                                    "headRefName": "String", "baseRefName": "String",
                                                    "labels": "[String!]"}),
        "__typename": ("String!", {}),
    },
    "PullRequest": PR_FIELDS,
    "PullRequestConnection": {"nodes": ("[PullRequest]", {}), "totalCount": ("Int!", {}),
                              "pageInfo": ("PageInfo!", {})},
    "PageInfo": {"hasNextPage": ("Boolean!", {}), "hasPreviousPage": ("Boolean!", {}),
                 "endCursor": ("String", {}), "startCursor": ("String", {})},
    "LabelConnection": {"nodes": ("[Label]", {}), "totalCount": ("Int!", {})},
    "Label": {"id": ("ID!", {}), "name": ("String!", {}), "color": ("String!", {})},
    "Commit": {"oid": ("GitObjectID!", {})},
    "Actor": {"login": ("String!", {})},
    "AutoMergeRequest": {"mergeMethod": ("PullRequestMergeMethod!", {}), "enabledAt": ("DateTime", {}),
                         "enabledBy": ("Actor", {}), "commitHeadline": ("String", {}), "commitBody": ("String", {})},
    "RateLimit": {"cost": ("Int!", {}), "limit": ("Int!", {}), "remaining": ("Int!", {}), "used": ("Int!", {}),
                  "resetAt": ("DateTime!", {}), "nodeCount": ("Int!", {})},
    "EnablePullRequestAutoMergePayload": {"clientMutationId": ("String", {}), "pullRequest": ("PullRequest", {}),
                                          "actor": ("Actor", {})},
    "DisablePullRequestAutoMergePayload": {"clientMutationId": ("String", {}), "pullRequest": ("PullRequest", {}),
                                           "actor": ("Actor", {})},
}
INPUTS = {
    "EnablePullRequestAutoMergeInput": {"pullRequestId": "ID!", "mergeMethod": "PullRequestMergeMethod",
                                        "commitHeadline": "String", "commitBody": "String",
                                        "expectedHeadOid": "GitObjectID", "authorEmail": "String",
                                        "clientMutationId": "String"},
    "DisablePullRequestAutoMergeInput": {"pullRequestId": "ID!", "clientMutationId": "String"},
}
ENUMS = {
    "PullRequestState": {"OPEN", "CLOSED", "MERGED"},
    "PullRequestMergeMethod": {"MERGE", "SQUASH", "REBASE"},
    "MergeableState": {"MERGEABLE", "CONFLICTING", "UNKNOWN"},
    "MergeStateStatus": {"BEHIND", "BLOCKED", "CLEAN", "DIRTY", "DRAFT", "HAS_HOOKS", "UNKNOWN", "UNSTABLE"},
}
SCALARS = {"ID", "String", "Int", "Boolean", "DateTime", "URI", "GitObjectID", "Float"}
MAX_PAGE = 100


class GraphQLError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1, kind: str | None = None,
                 path: list | None = None) -> None:
        super().__init__(message)
        self.error: dict = {"message": message, "locations": [{"line": line, "column": column}]}
        if kind:
            self.error["type"] = kind
        if path is not None:
            self.error["path"] = path


class Enum(str):
    """An enum value written bare in the query (OPEN), told apart from a string ("OPEN")."""


@dataclass
class Var:
    name: str


@dataclass
class Field:
    name: str
    alias: str
    args: dict
    selections: list["Field"] | None
    line: int
    column: int


@dataclass
class Operation:
    kind: str
    variables: dict[str, tuple[str, object]] = field(default_factory=dict)    # name -> (type, default)
    selections: list[Field] = field(default_factory=list)


_TOKEN = re.compile(r'(?P<ws>[\s,\ufeff]+|#[^\n]*)|(?P<spread>\.\.\.)|(?P<punct>[!$():=@\[\]{}|&])'
                    r'|(?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")|(?P<string>"(?:[^"\\\n]|\\.)*")'
                    r'|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[_A-Za-z][_0-9A-Za-z]*)')


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str, int, int]] = []
        pos, line, line_start = 0, 1, 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise GraphQLError(f"Parse error on \"{text[pos]}\" at [{line}, {pos - line_start + 1}]", line,
                                   pos - line_start + 1)
            if m.lastgroup != "ws":
                self.tokens.append((m.lastgroup, m.group(), line, pos - line_start + 1))
            for i, ch in enumerate(m.group()):
                if ch == "\n":
                    line, line_start = line + 1, pos + i + 1
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "", 0, 0)

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int, int]:
        tok = self.peek()
        if (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind) or tok[0] == "eof":
            raise GraphQLError(f"Parse error on \"{tok[1] or 'end of query'}\" at [{tok[2]}, {tok[3]}]",
                               tok[2] or 1, tok[3] or 1)
        self.i += 1
        return tok

    def document(self) -> Operation:
        tok = self.peek()
        if tok[1] == "{":
            op = Operation("query")
        else:
            keyword = self.take(kind="name")
            if keyword[1] == "fragment" or keyword[1] == "subscription":
                raise GraphQLError(f"'{keyword[1]}' is not supported by the local forge", keyword[2], keyword[3])
            if keyword[1] not in ("query", "mutation"):
                raise GraphQLError(f"Parse error on \"{keyword[1]}\" at [{keyword[2]}, {keyword[3]}]",
                                   keyword[2], keyword[3])
            op = Operation(keyword[1])
            if self.peek()[0] == "name":
                self.take()
            if self.peek()[1] == "(":
                self.take("(")
                while self.peek()[1] != ")":
                    self.take("$")
                    name = self.take(kind="name")[1]
                    self.take(":")
                    kind = self.type_ref()
                    default = None
                    if self.peek()[1] == "=":
                        self.take("=")
                        default = self.value()
                    op.variables[name] = (kind, default)
                self.take(")")
        op.selections = self.selection_set()
        if self.peek()[0] != "eof":
            tok = self.peek()
            raise GraphQLError("only one operation per document is supported by the local forge", tok[2], tok[3])
        return op

    def type_ref(self) -> str:
        if self.peek()[1] == "[":
            self.take("[")
            inner = self.type_ref()
            self.take("]")
            kind = f"[{inner}]"
        else:
            kind = self.take(kind="name")[1]
        if self.peek()[1] == "!":
            self.take("!")
            kind += "!"
        return kind

    def selection_set(self) -> list[Field]:
        self.take("{")
        out = []
        while self.peek()[1] != "}":
            tok = self.peek()
            if tok[0] == "spread" or tok[1] == "@":
                raise GraphQLError("fragments and directives are not supported by the local forge", tok[2], tok[3])
            name_tok = self.take(kind="name")
            alias = name = name_tok[1]
            if self.peek()[1] == ":":
                self.take(":")
                name = self.take(kind="name")[1]
            args = {}
            if self.peek()[1] == "(":
                self.take("(")
                while self.peek()[1] != ")":
                    arg = self.take(kind="name")[1]
                    self.take(":")
                    args[arg] = self.value()
                self.take(")")
            selections = self.selection_set() if self.peek()[1] == "{" else None
            out.append(Field(name, alias, args, selections, name_tok[2], name_tok[3]))
        self.take("}")
        return out

    def value(self) -> object:
        kind, text, line, col = self.take()
        if text == "$":
            return Var(self.take(kind="name")[1])
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "block":
            return text[3:-3]
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            return {"true": True, "false": False, "null": None}[text] if text in ("true", "false", "null") \
                else Enum(text)
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            obj = {}
            while self.peek()[1] != "}":
                key = self.take(kind="name")[1]
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        raise GraphQLError(f"Parse error on \"{text}\" at [{line}, {col}]", line, col)


# --- validation: the query against TYPES ---------------------------------------------------------------------------

def _substitute(value: object, variables: dict, declared: dict, used: set) -> object:
    if isinstance(value, Var):
        used.add(value.name)
        if value.name not in declared:
            raise GraphQLError(f"Variable ${value.name} is used but not declared")
        return variables.get(value.name, declared[value.name][1])
    if isinstance(value, list):
        return [_substitute(v, variables, declared, used) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, declared, used) for k, v in value.items()}
    return value


def _fits(value: object, kind: str, from_variable: bool) -> bool:
    if kind.endswith("!"):
        return value is not None and _fits(value, kind[:-1], from_variable)
    if value is None:
        return True
    if kind.startswith("["):
        items = value if isinstance(value, list) else [value]       # GraphQL input coercion of one item
        return all(_fits(v, kind[1:-1], from_variable) for v in items)
    if kind in ENUMS:
        return isinstance(value, str) and (from_variable or isinstance(value, Enum)) and value in ENUMS[kind]
    if kind in INPUTS:
        spec = INPUTS[kind]
        return isinstance(value, dict) and set(value) <= set(spec) and all(
            _fits(value.get(k), t, from_variable) for k, t in spec.items())
    if kind == "Int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "Boolean":
        return isinstance(value, bool)
    return isinstance(value, str) and not isinstance(value, Enum)


def _named(kind: str) -> str:
    return kind.strip("[]!")


def _check(fields: list[Field], parent: str, variables: dict, declared: dict, used: set) -> None:
    for f in fields:
        spec = TYPES[parent].get(f.name)
        if spec is None:
            raise GraphQLError(f"Field '{f.name}' doesn't exist on type '{parent}'", f.line, f.column)
        kind, arg_types = spec
        for arg, raw in f.args.items():
            if arg not in arg_types:
                raise GraphQLError(f"Field '{f.name}' doesn't accept argument '{arg}'", f.line, f.column)
            value = _substitute(raw, variables, declared, used)
            if not _fits(value, arg_types[arg], _has_var(raw)):
                raise GraphQLError(f"Argument '{arg}' on Field '{f.name}' has an invalid value ({_show(raw)}). "
                                   f"Expected type '{arg_types[arg]}'.", f.line, f.column)
            f.args[arg] = value
        missing = [a for a, t in arg_types.items() if t.endswith("!") and f.args.get(a) is None]
        if missing:
            raise GraphQLError(f"Field '{f.name}' is missing required arguments: {', '.join(missing)}", f.line,
                               f.column)
        target = _named(kind)
        if target in TYPES:
            if not f.selections:
                raise GraphQLError(f"Field must have selections (field '{f.name}' returns {target} but has no "
                                   f"selections. Did you mean '{f.name} {{ ... }}'?)", f.line, f.column)
            _check(f.selections, target, variables, declared, used)
        elif f.selections:
            raise GraphQLError(f"Selections can't be made on scalars (field '{f.name}' returns {target} but has "
                               f"selections [{', '.join(s.name for s in f.selections)}])", f.line, f.column)
        if kind.endswith("Connection!") or kind.endswith("Connection"):
            first, last = f.args.get("first"), f.args.get("last")
            if first is None and last is None:
                raise GraphQLError(f"You must provide a `first` or `last` value to properly paginate the "
                                   f"`{f.name}` connection.", f.line, f.column, "MISSING_PAGINATION_BOUNDARIES")
            for bound, value in (("first", first), ("last", last)):
                if value is not None and not 0 <= value <= MAX_PAGE:
                    raise GraphQLError(f"Requesting {value} records on the `{f.name}` connection exceeds the "
                                       f"`{bound}` limit of {MAX_PAGE} records.", f.line, f.column,
                                       "EXCESSIVE_PAGINATION")


def _has_var(value: object) -> bool:
    if isinstance(value, Var):
        return True
    if isinstance(value, list):
        return any(_has_var(v) for v in value)
    if isinstance(value, dict):
        return any(_has_var(v) for v in value.values())
    return False


def _show(value: object) -> str:
    if isinstance(value, Var):
        return f"${value.name}"
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return repr(value).replace("'", '"')


# --- execution against the forge's state ---------------------------------------------------------------------------

def execute(forge, principal, query: str, variables: dict) -> tuple[dict, list[str], bool]:
    """(response body, violations, is_write) for one GraphQL request; called with the forge's lock held."""
    try:
        op = _Parser(query).document()
        used: set[str] = set()
        _check(op.selections, "Query" if op.kind == "query" else "Mutation", variables, op.variables, used)
        for name, (kind, default) in op.variables.items():
            value = variables.get(name, default)
            if not _fits(value, kind, True):
                raise GraphQLError(f"Variable ${name} of type {kind} was provided invalid value")
    except GraphQLError as exc:
        return {"errors": [exc.error]}, [exc.error["message"]], False
    errors: list[dict] = []
    data = _Executor(forge, principal, errors).select(op.selections, "Query" if op.kind == "query" else "Mutation",
                                                      None, [])
    body: dict = {"data": data}
    if errors:
        body["errors"] = errors
    return body, [], op.kind == "mutation"


class _Executor:
    def __init__(self, forge, principal, errors: list[dict]) -> None:
        self.forge = forge
        self.principal = principal
        self.errors = errors

    def select(self, fields: list[Field], parent: str, obj, path: list) -> dict:
        out = {}
        for f in fields:
            kind = TYPES[parent][f.name][0]
            try:
                value = getattr(self, f"{parent}_{f.name}", None)
                value = value(obj, f.args) if value is not None else self.plain(parent, obj, f.name)
            except GraphQLError as exc:
                exc.error["path"] = path + [f.alias]
                exc.error["locations"] = [{"line": f.line, "column": f.column}]
                self.errors.append(exc.error)
                value = None
            out[f.alias] = self.complete(value, kind, f, path + [f.alias])
        return out

    def complete(self, value, kind: str, f: Field, path: list):
        if value is None:
            return None
        if kind.rstrip("!").startswith("["):
            inner = kind.rstrip("!")[1:-1]
            return [self.complete(v, inner, f, path + [i]) for i, v in enumerate(value)]
        target = _named(kind)
        if target in TYPES:
            return self.select(f.selections or [], target, value, path)
        return value

    def plain(self, parent: str, obj, name: str):
        if name == "__typename":
            return parent
        if isinstance(obj, dict):
            return obj.get(name)
        raise GraphQLError(f"'{parent}.{name}' is not implemented by the local forge")

    # Query
    def Query_repository(self, _, args):
        repo = self.forge._repos.get((args["owner"], args["name"]))
        if repo is None or not self.principal.reaches(repo.owner, repo.name):
            raise GraphQLError(f"Could not resolve to a Repository with the name '{args['owner']}/{args['name']}'.",
                               kind="NOT_FOUND")
        self.forge._refresh(repo)
        return repo

    def Query_node(self, _, args):
        return self.find_pull(args["id"])[1]

    def Query_rateLimit(self, _, args):
        forge = self.forge
        from localforge import RATE_LIMIT, _iso

        return {"cost": 1, "limit": RATE_LIMIT, "remaining": RATE_LIMIT - forge._rate_used, "used": forge._rate_used,
                "resetAt": _iso(forge._rate_reset), "nodeCount": 0}

    # Repository
    def Repository_id(self, repo, args):
        return self.forge._repo_json(repo)["node_id"]

    def Repository_name(self, repo, args):
        return repo.name

    def Repository_nameWithOwner(self, repo, args):
        return f"{repo.owner}/{repo.name}"

    def Repository_url(self, repo, args):
        return f"{self.forge.base_url}/{repo.owner}/{repo.name}"

    def Repository___typename(self, repo, args):
        return "Repository"

    def Repository_pullRequest(self, repo, args):
        pr = repo.pulls.get(args["number"])
        if pr is None:
            raise GraphQLError(f"Could not resolve to a PullRequest with the number of {args['number']}.",
                               kind="NOT_FOUND")
        return (repo, pr)

    def Repository_pullRequests(self, repo, args):
        states = args.get("states")
        states = [states] if isinstance(states, str) else states
        pulls = [(repo, pr) for _, pr in sorted(repo.pulls.items())
                 if (not states or _state(pr) in states)
                 and (args.get("headRefName") is None or pr.head == args["headRefName"])
                 and (args.get("baseRefName") is None or pr.base == args["baseRefName"])
                 and (not args.get("labels") or set(args["labels"]) & set(pr.labels))]
        return _page(pulls, args)

    def Label_id(self, label, args):
        return label["node_id"]

    # PullRequest: obj is (repo, pr)
    def PullRequest___typename(self, obj, args):
        return "PullRequest"

    def PullRequest_repository(self, obj, args):
        return obj[0]

    def PullRequest_labels(self, obj, args):
        repo, pr = obj
        return _page([repo.labels[name.lower()] for name in pr.labels], args)

    def plain_pull(self, obj, name):
        repo, pr = obj
        forge = self.forge
        if name in ("mergeable", "mergeStateStatus"):
            mergeable, state = forge._merge_state(repo, pr)
            if name == "mergeable":
                return {True: "MERGEABLE", False: "CONFLICTING", None: "UNKNOWN"}[mergeable]
            return state.upper()
        url = f"{forge.base_url}/{repo.owner}/{repo.name}/pull/{pr.number}"
        values = {
            "id": pr.node_id, "number": pr.number, "title": pr.title, "body": pr.body or "", "state": _state(pr),
            "isDraft": pr.draft, "merged": pr.merged_at is not None, "mergedAt": pr.merged_at,
            "closed": pr.state == "closed", "closedAt": pr.closed_at, "createdAt": pr.created_at,
            "updatedAt": pr.updated_at, "url": url, "permalink": url, "headRefName": pr.head,
            "headRefOid": pr.head_sha, "baseRefName": pr.base, "baseRefOid": pr.base_sha,
            "mergeCommit": {"oid": pr.merge_commit_sha} if pr.merge_commit_sha else None,
            "author": {"login": forge._principal_json(pr.user)["login"]},
            "autoMergeRequest": None if pr.auto_merge is None else {
                "mergeMethod": pr.auto_merge["merge_method"].upper(), "enabledAt": pr.auto_merge["enabled_at"],
                "enabledBy": {"login": forge._principal_json(pr.auto_merge["by"])["login"]},
                "commitHeadline": pr.auto_merge["commit_title"], "commitBody": pr.auto_merge["commit_message"]},
        }
        return values[name]

    # Mutation
    def Mutation_enablePullRequestAutoMerge(self, _, args):
        from localforge import _now

        data = args["input"]
        repo, (_, pr) = self.find_pull(data["pullRequestId"])
        if not repo.allow_auto_merge:
            raise GraphQLError("Pull request Auto merge is not allowed for this repository", kind="UNPROCESSABLE")
        if pr.state != "open":
            raise GraphQLError("Pull request Pull request is closed", kind="UNPROCESSABLE")
        if data.get("expectedHeadOid") and data["expectedHeadOid"] != pr.head_sha:
            raise GraphQLError("Pull request Head branch was modified", kind="UNPROCESSABLE")
        if pr.base not in repo.protected:
            raise GraphQLError("Pull request Protected branch rules not configured for this branch",
                               kind="UNPROCESSABLE")
        _, state = self.forge._merge_state(repo, pr)
        if state != "blocked":
            raise GraphQLError(f"Pull request Pull request is in {state} status", kind="UNPROCESSABLE")
        pr.auto_merge = {"merge_method": str(data.get("mergeMethod") or "MERGE").lower(),
                         "commit_title": data.get("commitHeadline") or "",
                         "commit_message": data.get("commitBody") or "", "by": self.principal,
                         "enabled_at": _now()}
        return {"clientMutationId": data.get("clientMutationId"), "pullRequest": (repo, pr),
                "actor": {"login": self.forge._principal_json(self.principal)["login"]}}

    def Mutation_disablePullRequestAutoMerge(self, _, args):
        data = args["input"]
        repo, (_, pr) = self.find_pull(data["pullRequestId"])
        pr.auto_merge = None
        return {"clientMutationId": data.get("clientMutationId"), "pullRequest": (repo, pr),
                "actor": {"login": self.forge._principal_json(self.principal)["login"]}}

    def find_pull(self, node_id: str):
        for repo in self.forge._repos.values():
            for pr in repo.pulls.values():
                if pr.node_id == node_id and self.principal.reaches(repo.owner, repo.name):
                    self.forge._refresh(repo)
                    return repo, (repo, pr)
        raise GraphQLError(f"Could not resolve to a node with the global id of '{node_id}'", kind="NOT_FOUND")


for _name in PR_FIELDS:
    if not hasattr(_Executor, f"PullRequest_{_name}"):
        setattr(_Executor, f"PullRequest_{_name}", lambda self, obj, args, _n=_name: self.plain_pull(obj, _n))


def _state(pr) -> str:
    return "MERGED" if pr.merged_at is not None else pr.state.upper()


def _page(items: list, args: dict) -> dict:
    start = 0
    if args.get("after"):
        start = int(base64.b64decode(args["after"]).decode().split(":")[1])
    rest = items[start:]
    if args.get("first") is not None:
        chunk = rest[:args["first"]]
    else:
        chunk = rest[max(len(rest) - args["last"], 0):]
        start += len(rest) - len(chunk)
    end = start + len(chunk)
    cursor = lambda n: base64.b64encode(f"cursor:{n}".encode()).decode()  # noqa: E731
    return {"nodes": chunk, "totalCount": len(items),
            "pageInfo": {"hasNextPage": end < len(items), "hasPreviousPage": start > 0,
                         "endCursor": cursor(end) if chunk else None, "startCursor": cursor(start) if chunk else None}}
