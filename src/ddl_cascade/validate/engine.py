"""`validate`: run every check on the parent's migrations and return one `Report`.

The order of work, and why:
1. Read the parent's locations from the working tree (what the pull request contains) and the delivered ones from
   git objects (`--base`, default the delivery branch). See `flyway.locations` and `validate.files`.
2. Resolve names and duplicates exactly as Flyway does (`ddl_cascade.flyway.resolve`), over all locations at once.
3. Check each script's content: encoding, placeholders, statements (split by `sqlscript`), syntax (pglast's C
   parser, without building Python trees), transaction mix; then the `lint/...` rules on pglast's Python trees,
   built once per statement and only for the scripts lint checks: those new or changed since the base. Delivered
   migrations already ran everywhere, and warning about them again on every pull request would bury the warnings
   that matter; but lint remembers what they established (column types, validated NOT NULL checks), so the fix a
   rule documents across several migrations is not reported once its first steps are delivered. All of it is
   `lint.lint_migrations`, the one function the rule tests call too. Both passes spread over worker processes for
   large folders (`check_all`).
4. Compare with what was delivered (`validate.history`), and, with `--children`, with every child's own migrations
   (`validate.children`).
5. Apply inline suppressions and `[validate.rules]` severities, then sort.
The report is plain data; the CLI renders it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field, replace

from ddl_cascade import flyway, git
from ddl_cascade.config import Config
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.sqlscript import Fault, line_starts, position, split_statements
from ddl_cascade.flyway import locations
from ddl_cascade.flyway.locations import CALLBACK
from ddl_cascade.validate import children as children_mod
from ddl_cascade.validate import history, lint, placeholders, suppress, syntax
from ddl_cascade.validate.checked import Checked
from ddl_cascade.validate.files import Files, ScriptFile, collect, decode, resolve
from ddl_cascade.validate.model import Finding, RuleInfo, Severity
from ddl_cascade.validate.rules import DOCS, HINTS, RULES, finding


@dataclass
class Report:
    findings: list[Finding]
    files: int  # files found in the parent's migration and callback locations
    base: str | None = None  # the commit the history checks compared with (None: nothing delivered yet)
    children: list[str] = field(default_factory=list)  # children whose migrations were checked
    notes: list[str] = field(default_factory=list)  # what was not checked, and why (not findings)
    # Files new, changed or deleted since `base` (what a pull request changes); None when nothing counts as delivered,
    # so every file is new.
    changed: list[str] | None = None

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def all_rules() -> dict[str, RuleInfo]:
    """Every rule validate knows: its own and the `lint/...` ones."""
    return {**RULES, **lint.RULES}


def all_docs() -> dict[str, str]:
    """Each rule's documentation (anti-pattern and fix), from the rules' docstrings."""
    import inspect

    docs = dict(DOCS)
    for module in lint.MODULES:
        docs[module.INFO.id] = inspect.cleandoc(module.__doc__ or "")
    return docs


# ---------------------------------------------------------------------------------------------------------------------
# The whole run


def validate(config: Config, base: str | None = None, children: bool = False, jobs: int | None = None) -> Report:
    """Check the parent's migrations; `base` is a git revision (default: the delivery branch, if it exists)."""
    settings = config.flyway
    dialect = syntax.check_dialect(settings.dialect, str(config.file))
    _check_encoding(settings.encoding, str(config.file))
    known = all_rules()
    for rule_id in config.rules:
        if rule_id not in known:
            raise CascadeError(f"{config.file}: validate.rules names unknown rule '{rule_id}'.")

    source_dir = locations.source_folder(config)
    display = config.source.path + "/"
    wanted = [folder for folder, _ in locations.configured(settings)]
    outside: list[str] = []
    current = collect(locations.read_worktree(source_dir, wanted, outside=outside), settings, display)

    base_commit, delivered = read_base(config, base)

    # A symbolic link out of the source folder is reported, never followed: its target is not read or shown.
    findings: list[Finding] = [finding("file/outside-source", display + rel, 0, 0,
                                       f"a symbolic link that points outside {display}; validate does not read it, "
                                       "and a child would receive the link, not the file") for rel in outside]
    resolution = resolve(current)
    findings += naming_findings(current, resolution)
    findings += duplicate_findings(resolution, current)

    delivered_by_path = {f.path: f for f in delivered.scripts} if delivered is not None else {}
    order = _flyway_order(current, resolution)
    lint_flags = []
    for script in order:
        old = delivered_by_path.get(script.path)
        lint_flags.append(delivered is None or old is None or old.data != script.data)
    checked = check_all(order, lint_flags, settings.placeholders, settings.encoding, dialect)
    for result in checked.values():
        findings += result.findings

    if delivered is not None:
        findings += history.compare(current, resolution, delivered, checked, settings.encoding)

    checked_children: list[str] = []
    if children and config.children:
        child_findings, checked_children = children_mod.check(config, current, jobs=jobs)
        findings += child_findings

    findings = finish(findings, checked, config.rules, known)
    notes = [f"{config.source.path}/{folder} (a location in [flyway]) does not exist, so nothing was checked there."
             for folder in wanted if not (source_dir / folder).is_dir()]
    if base_commit is None:
        # A shallow CI checkout often lacks the delivery branch; say so rather than pass the history checks quietly.
        notes.append(f"no delivery branch (refs/heads/{config.source.delivery_branch} or its remote-tracking ref) "
                     "was found, so nothing counts as delivered and the history checks were skipped; fetch it or "
                     "pass --base.")
    return Report(findings, len(current.scripts) + len(current.others), base_commit, checked_children, notes,
                  changed_since(current, delivered))


def changed_since(current: Files, delivered: Files | None) -> list[str] | None:
    """The paths whose content (or `.sql.conf`) differs from the delivered side, deleted ones included, sorted."""
    if delivered is None:
        return None
    now = {f.path: (f.data, f.conf) for f in current.scripts + current.others}
    then = {f.path: (f.data, f.conf) for f in delivered.scripts + delivered.others}
    return sorted(p for p in now.keys() | then.keys() if now.get(p) != then.get(p))


def _check_encoding(encoding: str, file: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CascadeError(f"{file}: flyway.encoding {encoding!r} is not an encoding Python knows.") from None


def read_base(config: Config, base: str | None) -> tuple[str | None, Files | None]:
    """The delivered files: from `base`, or the delivery branch (local, else the remote-tracking one, else fetched
    from `source.remote` or origin: a shallow CI clone has neither) if it exists.

    The delivery branch holds the source folder at its root. Any other revision (`--base origin/main`) holds it at
    `source.path`, so that folder is used when the revision has it.
    """
    root = config.root
    if base is not None:
        commit = git.rev_parse(root, f"{base}^{{commit}}")
        if commit is None:
            raise CascadeError(f"--base {base!r} names no commit in {root}.")
    else:
        from ddl_cascade.cascade.state import find_delivery_tip  # local, else remote-tracking, else fetched

        commit = find_delivery_tip(config).tip
        if commit is None:
            return None, None
    tree = git.folder_at(root, commit, config.source.path) or git.rev_parse(root, f"{commit}^{{tree}}")
    assert tree is not None
    wanted = [folder for folder, _ in locations.configured(config.flyway)]
    with git.ObjectReader(root) as reader:
        data = locations.read_tree(reader, tree, wanted)
    return commit, collect(data, config.flyway, config.source.path + "/")


# ---------------------------------------------------------------------------------------------------------------------
# Names and duplicates


def naming_findings(found: Files, resolution: flyway.Resolution) -> list[Finding]:
    out: list[Finding] = []
    for f in found.scripts + found.others:
        check = resolution.checks.get(f.key)
        if check is None:
            continue
        hint_text = "; ".join(check.hints)
        if f.role == CALLBACK:
            if check.status == "callback" or not f.name.lower().endswith(".sql"):
                continue
            message = (check.message or f"{f.name} is a migration name, not a callback event") + \
                "; Flyway never runs it as a callback"
            out.append(finding("callback/invalid", f.path, 0, 0, message,
                               (hint_text + ". " if hint_text else "") + HINTS["callback/invalid"]))
        elif check.name is not None and check.name.version is not None and len(check.name.version.text) > 50:
            # flyway_schema_history.version is VARCHAR(50): Flyway's insert of the history row fails.
            out.append(finding("naming/invalid", f.path, 0, 0,
                               f"version {check.name.version.text} has {len(check.name.version.text)} characters; "
                               "flyway_schema_history.version holds 50, so recording it fails",
                               "Use a shorter version."))
        elif check.status == "invalid":
            out.append(finding("naming/invalid", f.path, 0, 0,
                               f"{check.message}; Flyway silently skips this file, so it is never applied",
                               (hint_text + ". " if hint_text else "") + HINTS["naming/invalid"]))
        elif check.status == "ignored" and check.hints:
            out.append(finding("naming/invalid", f.path, 0, 0, check.hints[0],
                               "Rename it with the .sql suffix if it is a migration, or give it a name that does not "
                               "look like one.", severity=Severity.WARNING))
    return out


def duplicate_findings(resolution: flyway.Resolution, found: Files) -> list[Finding]:
    by_key = {f.key: f for f in found.scripts}
    out: list[Finding] = []
    for problem in resolution.problems:
        if problem.code == "DUPLICATE_VERSIONED_MIGRATION":
            rule = "version/duplicate"
        elif problem.code == "DUPLICATE_REPEATABLE_MIGRATION":
            rule = "repeatable/duplicate"
        elif problem.code == "DUPLICATE_CALLBACK":
            rule = "callback/duplicate"
        else:
            continue
        paths = [by_key[p].path if p in by_key else p for p in problem.paths]
        headline = problem.message.split("\n", 1)[0]
        for i, path in enumerate(paths):
            others = ", ".join(p for j, p in enumerate(paths) if j != i)
            out.append(finding(rule, path, 0, 0, f"{headline.rstrip('!')}: also {others}; Flyway refuses to migrate"))
    return out


def _flyway_order(found: Files, resolution: flyway.Resolution) -> list[ScriptFile]:
    """Scripts in the order Flyway runs them (migrations, then callbacks, then the rest), so lint learns which
    tables earlier migrations created."""
    by_key = {f.key: f for f in found.scripts}
    ordered: list[ScriptFile] = []
    seen: set[str] = set()
    for m in list(resolution.migrations) + list(resolution.callbacks):
        f = by_key.get(m.path)
        if f is not None and f.path not in seen:
            ordered.append(f)
            seen.add(f.path)
    ordered += [f for f in found.scripts if f.path not in seen]
    return ordered


# ---------------------------------------------------------------------------------------------------------------------
# One script's content


def prepare(f: ScriptFile, values: dict[str, str], encoding: str, dialect: str) -> Checked:
    """Every check of one script except lint: script config, encoding, placeholders, syntax, transaction mix.

    Syntax is checked without building pglast's Python trees (ten times cheaper); lint builds them later, for the
    scripts it checks only.
    """
    out = Checked(f.path)
    conf = flyway.ScriptConfig()
    if f.conf is not None:
        try:
            conf = flyway.parse_script_config(f.conf.decode("utf-8", "replace"), f.name + ".conf")
        except flyway.FlywayError as error:
            out.findings.append(finding("script-config/invalid", f.path + ".conf", 0, 0, str(error)))
        if conf.encoding:
            try:
                codecs.lookup(conf.encoding)
                encoding = conf.encoding
            except LookupError:
                out.findings.append(finding("script-config/invalid", f.path + ".conf", 0, 0,
                                            f"encoding {conf.encoding!r} is not a known encoding"))

    text, bad = decode(f.data, encoding)
    if text is None:
        line = f.data.count(b"\n", 0, bad) + 1
        column = bad - (f.data.rfind(b"\n", 0, bad) + 1) + 1
        out.findings.append(finding("encoding/invalid", f.path, line, column,
                                    f"byte 0x{f.data[bad]:02x} at offset {bad} is not valid {encoding}; Flyway cannot "
                                    "read (or checksum) this file"))
        return out
    out.text = text
    out.checksum = flyway.checksum_text(text)
    # Flyway strips a BOM before parsing; a space keeps every offset (and so every column) where it was.
    parse_text = " " + text[1:] if text.startswith("\ufeff") else text

    if conf.placeholder_replacement is False:
        sub = placeholders.Substituted(parse_text)
    else:
        sub = placeholders.substitute(parse_text, values, f.name)
    starts = line_starts(parse_text)
    for p in sub.undefined:
        line, column = position(starts, p.start)
        out.findings.append(finding(
            "sql/placeholder-undefined", f.path, line, column,
            f"No value provided for placeholder: ${{{p.name}}}; Flyway fails when it runs this script",
            f"Define '{p.name}' under [flyway.placeholders] in cascade.toml (and in every child's Flyway "
            "configuration)." if not p.is_default else
            f"'flyway:{p.name.split(':', 1)[-1]}' is not one of Flyway's built-in placeholders.",
        ))

    faults: list[Fault] = []
    raw_statements = split_statements(sub.text, faults=faults)
    for fault in faults:
        line, column = position(starts, sub.original(fault.offset))
        out.findings.append(finding("sql/unreadable", f.path, line, column, fault.message))
    if sub.text is parse_text:
        statements = located = raw_statements
    else:
        # Lint and tx/mixed get the substituted SQL with the line and column of the original text; suppression
        # directives are found in the original text, so they get the statements' original spans.
        statements = [replace(s, line=pos[0], column=pos[1]) for s in raw_statements
                      for pos in [position(starts, sub.original(s.start))]]
        located = [replace(s, start=sub.original(s.start), end=sub.original(s.end),
                           comment_start=sub.original(s.comment_start)) for s in raw_statements]
    out.suppressions = suppress.scan(parse_text, located)

    out.statements = statements
    out.in_transaction = conf.execute_in_transaction
    for raw, stmt in zip(raw_statements, statements):
        result = syntax.parse(stmt.sql, dialect, tree=False)
        # A statement with an undefined placeholder, or one cut short by a fault, is already reported; its parse error
        # would only repeat it.
        if (result.error is not None and not sub.has_undefined(raw.start, raw.end)
                and not any(raw.start <= fault.offset <= raw.end for fault in faults)):
            line, column = position(starts, sub.original(raw.start + result.offset))
            out.findings.append(finding("sql/syntax", f.path, line, column, result.error))
        out.parses.append(result.error is None)
        if result.created:
            out.created.append(result.created)
        out.kinds.append(result.kind)
        out.tables.append(result.table)

    transactional = [s for s in statements if not s.non_transactional]
    non_transactional = [s for s in statements if s.non_transactional]
    # Flyway's non-transactional detection is PostgreSQL's; other databases have other lists.
    if transactional and non_transactional and conf.execute_in_transaction is None and dialect == syntax.POSTGRES:
        first = non_transactional[0]
        other = transactional[0]
        out.findings.append(finding(
            "tx/mixed", f.path, first.line, first.column,
            f"'{_head(first.sql)}' cannot run in a transaction, but line {other.line} ('{_head(other.sql)}') is "
            "transactional; Flyway refuses this script (mixed=false)",
        ))

    return out


def _migration(checked: Checked, trees: list[bool] | None = None, new: bool = True) -> lint.Migration:
    """A prepared script as lint takes it, with the parse trees of the statements `trees` selects (default: all)."""
    statements = [(stmt, syntax.parse(stmt.sql).node if ok and (trees is None or trees[i]) else None)
                  for i, (stmt, ok) in enumerate(zip(checked.statements, checked.parses))]
    return lint.Migration(checked.path, statements, new=new, in_transaction=checked.in_transaction)


def check_script(f: ScriptFile, values: dict[str, str], encoding: str, dialect: str, lint_it: bool = True,
                 tables_created: set[str] | None = None) -> Checked:
    """All checks of one script, lint included (when `lint_it` and the dialect is PostgreSQL)."""
    out = prepare(f, values, encoding, dialect)
    if lint_it and dialect == syntax.POSTGRES and out.text is not None:
        [found] = lint.lint_migrations([_migration(out)], lint.LintContext(tables_created=set(tables_created or ())))
        out.findings += found
    return out


# Below this many scripts, worker processes cost more than they save.
PARALLEL_MIN = 200


def check_all(order: list[ScriptFile], lint_flags: list[bool], values: dict[str, str], encoding: str,
              dialect: str, workers: int | None = None) -> dict[str, Checked]:
    """Check every script (in Flyway order), on several cores when there are many.

    Two passes, each spread over worker processes: first every check but lint; then `lint.lint_migrations` over
    the Flyway order, the scripts in `lint_flags` linted, the others (delivered) only remembered. The second pass
    works in contiguous chunks of the linted scripts; each worker is handed, besides its chunk, what lint must
    remember of the scripts before it (see `_lint_jobs`), so it sees exactly what a one-by-one run would.
    """
    import functools

    workers = workers or _cores()
    checked = _map(functools.partial(prepare, values=values, encoding=encoding, dialect=dialect), order, workers,
                   parallel=len(order) >= PARALLEL_MIN)
    if dialect != syntax.POSTGRES:
        return {c.path: c for c in checked}
    linted = [flag and c.text is not None for c, flag in zip(checked, lint_flags)]
    jobs = _lint_jobs(checked, linted, workers)
    by_path = {c.path: c for c in checked}
    for found in _map(_lint_job, jobs, workers, parallel=len(jobs) > 1):
        for path, extra in found:
            by_path[path].findings += extra
    return by_path


@dataclass
class _LintJob:
    """One worker's share of lint: `scripts` in Flyway order, the first `skip` only to be remembered."""

    tables_created: set[str]  # by the linted scripts before the first of `scripts` that is linted
    scripts: list[tuple[Checked, list[bool] | None, bool]]  # (slim script, which trees to build (None: all), new)
    skip: int


def _lint_jobs(checked: list[Checked], linted: list[bool], workers: int) -> list[_LintJob]:
    """Contiguous chunks of the linted scripts, each with what comes before it, cut down to what lint needs.

    Building pglast's trees is what lint costs, so a script that is not linted in a chunk (a delivered one, or a
    new one before the chunk) gets the trees of only the statements whose memory the chunk can ask for: what
    `lint.remember` keeps of a table (column types, CHECK (col IS NOT NULL) constraints) only matters to an ALTER
    TABLE of that table, so those of the tables the chunk alters, plus every rename (a renamed new table stays new).
    Which tables earlier new scripts created comes from the first pass, without trees.
    """
    todo = [i for i, flag in enumerate(linted) if flag]
    if not todo:
        return []
    size = max(1, -(-len(todo) // (workers * 4))) if len(todo) >= PARALLEL_MIN and workers > 1 else len(todo)
    # Workers get only what lint needs (not the text, findings or directives), to keep what is pickled small.
    slim = [replace(c, text=None, findings=[], suppressions=suppress.Suppressions()) for c in checked]
    jobs: list[_LintJob] = []
    created: set[str] = set()
    before = 0  # the scripts before `first` whose linted ones' tables are in `created`
    for n in range(0, len(todo), size):
        first, last = todo[n], todo[min(n + size, len(todo)) - 1]
        for i in range(before, first):
            if linted[i]:
                created.update(checked[i].created)
        before = first
        altered = {_bare(t) for i in range(first, last + 1) if linted[i]
                   for k, t in zip(checked[i].kinds, checked[i].tables) if k == "AlterTableStmt" and t}
        prefix, body = [], []
        for i in range(last + 1):
            if i >= first and linted[i]:
                body.append((slim[i], None, True))
                continue
            trees = [k == "RenameStmt" or (k in lint.REMEMBERED and t is not None and _bare(t) in altered)
                     for k, t in zip(checked[i].kinds, checked[i].tables)]
            if any(trees):
                (prefix if i < first else body).append((slim[i], trees, linted[i]))
        jobs.append(_LintJob(set(created), prefix + body, len(prefix)))
    return jobs


def _bare(table: str) -> str:
    return table.rpartition(".")[2]


def _lint_job(job: _LintJob) -> list[tuple[str, list[Finding]]]:
    migrations = [_migration(c, trees, new) for c, trees, new in job.scripts]
    found = lint.lint_migrations(migrations, lint.LintContext(tables_created=job.tables_created), skip=job.skip)
    return [(m.path, f) for m, f in zip(migrations[job.skip:], found[job.skip:]) if m.new]


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _map(fn, items: list, workers: int, parallel: bool) -> list:
    """`map` over worker processes when asked and possible (several cores, fork available), else in-process."""
    import multiprocessing

    if not parallel or workers <= 1 or len(items) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunksize = max(1, len(items) // (workers * 4))
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(fn, items, chunksize=chunksize))
    except (OSError, BrokenProcessPool):
        # No semaphores in this sandbox, or a worker was killed: the same work in this process is only slower.
        return [fn(item) for item in items]


def _head(sql: str, words: int = 4) -> str:
    return " ".join(sql.split()[:words])


# ---------------------------------------------------------------------------------------------------------------------
# Suppression and severities


def finish(findings: list[Finding], checked: dict[str, Checked], overrides: dict[str, str],
           known: dict[str, RuleInfo]) -> list[Finding]:
    """Report unknown rule ids in directives, drop suppressed findings, apply [validate.rules], sort."""
    extra: list[Finding] = []
    for result in checked.values():
        for d in result.suppressions.directives:
            for rule_id in d.rules:
                family = rule_id.endswith("/*") and any(k.startswith(rule_id[:-1]) for k in known)
                if rule_id not in known and not family:
                    extra.append(finding("suppression/unknown-rule", result.path, d.line, d.column,
                                         f"'{rule_id}' is not a rule, so this ignore silences nothing"))
    out: list[Finding] = []
    for f in findings + extra:
        # A finding about `V1__x.sql.conf` can be silenced from `V1__x.sql`.
        result = checked.get(f.path) or checked.get(f.path.removesuffix(".conf"))
        if result is not None and result.suppressions.silences(f):
            continue
        level = overrides.get(f.rule)
        if level == "off":
            continue
        if level is not None:
            f = replace(f, severity=Severity(level))
        out.append(f)
    out.sort(key=lambda f: (f.path, f.line, f.column, f.rule, f.message))
    return out
