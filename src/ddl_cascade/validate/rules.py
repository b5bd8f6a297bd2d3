"""The catalogue of `validate`'s Flyway, history, syntax and child rules (the `lint/...` rules live in `validate.lint`).

Each rule is one small class in the manner of sqlfluff: a stable id, a default severity, a one-line summary and a
docstring that shows the anti-pattern and the fix. The classes carry no logic; the checks that raise them are in
`validate.engine`, `validate.history` and `validate.children`, which all speak in these ids. `RULES` is what
`[validate.rules]` overrides, what SARIF lists and what `docs/validate.md` describes.
"""

from __future__ import annotations

import inspect

from ddl_cascade.validate.model import Finding, RuleInfo, Severity


class Rule:
    id: str
    severity: Severity = Severity.ERROR
    summary: str
    hint: str  # the default fix, used when a check has nothing more specific to say


class NamingInvalid(Rule):
    """A file in a migration folder that Flyway does not recognise, so it is silently never applied.

    Anti-pattern::

        sql/v1__create_users.sql      # lower-case prefix
        sql/V1_create_users.sql       # one underscore: no separator
        sql/V1.2a__users.sql          # not a version
        sql/CCD-4590__users.sql       # a ticket id instead of a version
        sql/V57__readme.md            # a migration name with another suffix (warning)
        sql/V2024.01.15.10.30.00.000000000000000000000001__x.sql   # version over 50 characters

    Fix::

        sql/V1__create_users.sql
    """

    id = "naming/invalid"
    summary = "File name that Flyway does not recognise as a migration"
    hint = "Name versioned migrations V<version>__<description>.sql and repeatables R__<description>.sql."


class FileOutsideSource(Rule):
    """A file (or folder) in a migration or callback folder that is a symbolic link pointing outside the source folder.

    validate reads nothing outside the source folder, so the link is reported and never followed: its target is
    neither read nor shown. git stores the link, not the file: a child receives a link that points wherever that path
    leads on each machine (or nowhere), and its Flyway runs whatever is there.

    Anti-pattern::

        sql/V7__grants.sql -> ../../../other-repo/grants.sql
        sql/shared -> /srv/ddl/common

    Fix: copy the file into the source folder (or move the folder there) and commit it as a regular file.
    """

    id = "file/outside-source"
    summary = "Symbolic link that points outside the source folder"
    hint = "Replace the link with the file itself, committed inside the source folder."


class CallbackInvalid(Rule):
    """A `.sql` file in a callback folder whose name is not a Flyway callback event, so it never runs.

    Anti-pattern::

        callbacks/after_migrate.sql
        callbacks/afterMigrate_grants.sql

    Fix::

        callbacks/afterMigrate.sql
        callbacks/afterMigrate__grants.sql
    """

    id = "callback/invalid"
    summary = "Callback file whose name is not <event>.sql or <event>__<description>.sql"
    hint = "Name callbacks after a Flyway event, e.g. afterMigrate.sql or beforeEachMigrate__audit.sql."


class CallbackDuplicate(Rule):
    """Two callback scripts with the same name in different folders; Flyway refuses to start.

    Flyway keys SQL callbacks by file name without its suffix, so `afterMigrate__grants.sql` may exist only once
    across all locations.

    Anti-pattern::

        callbacks/afterMigrate__grants.sql
        callbacks/legacy/afterMigrate__grants.sql

    Fix: merge them, or give one another description (`afterMigrate__legacy_grants.sql`).
    """

    id = "callback/duplicate"
    summary = "Callback scripts with the same name"
    hint = "Merge the callbacks or give one of them another description."


class VersionDuplicate(Rule):
    """Two migrations whose versions Flyway sees as equal; Flyway refuses to migrate at all.

    Flyway compares versions as numbers: `1` = `1.0` = `01` = `1_0`, and `1.01` = `1.1`, across every location.

    Anti-pattern::

        sql/V1__create_users.sql
        sql/2024/V1.0__create_orders.sql

    Fix: give the newer migration the next free version::

        sql/2024/V2__create_orders.sql
    """

    id = "version/duplicate"
    summary = "Versioned migrations with versions Flyway sees as equal"
    hint = "Give the newer migration the next free version."


class RepeatableDuplicate(Rule):
    """Two repeatable migrations with the same description once `_` becomes a space; Flyway refuses to migrate.

    Anti-pattern::

        sql/R__refresh_views.sql
        sql/views/R__refresh views.sql

    Fix: give each repeatable its own description.
    """

    id = "repeatable/duplicate"
    summary = "Repeatable migrations with the same description"
    hint = "Give each repeatable migration its own description."


class HistoryModified(Rule):
    """A versioned migration that was already delivered has changed, so its Flyway checksum changed.

    Every database that applied it fails `flyway validate` (and `migrate`) with a checksum mismatch.

    Anti-pattern: editing `V3__add_email.sql` after it reached the delivery branch.

    Fix: revert the edit and put the change in a new migration, `V12__fix_email.sql`.
    """

    id = "history/modified"
    summary = "Delivered versioned migration whose checksum changed"
    hint = "Revert this file to its delivered content and make the change in a new migration."


class HistoryDeleted(Rule):
    """A migration that was already delivered is gone (or left every migration folder).

    Databases that applied it report it as missing and `flyway validate` fails.

    Anti-pattern: `git rm sql/V3__add_email.sql` after delivery.

    Fix: restore the file; undo its effect with a new migration instead.
    """

    id = "history/deleted"
    summary = "Delivered migration that no longer exists"
    hint = "Restore the file; undo its effect in a new migration instead."


class HistoryRenamed(Rule):
    """A delivered migration kept its content but changed its version or description.

    A new version makes Flyway run the same script again under the new version and report the old one missing; a
    new description fails `flyway validate` with a description mismatch. (Moving a file to another sub-folder with
    the same name is harmless: Flyway does not compare the script path, so it is not reported.)

    Anti-pattern: `git mv sql/V3__add_email.sql sql/V3__add_email_column.sql`

    Fix: keep the delivered name.
    """

    id = "history/renamed"
    summary = "Delivered migration renamed (same content, new version or description)"
    hint = "Keep the delivered file name; Flyway matches applied migrations by version and description."


class HistoryOutOfOrder(Rule):
    """A new versioned migration whose version is below the highest delivered one.

    With Flyway's default `outOfOrder=false`, databases that already applied the higher version ignore it and
    `flyway validate` fails; with `outOfOrder=true` it runs after newer migrations.

    Anti-pattern: adding `V7__x.sql` when `V9__y.sql` is already delivered.

    Fix: number it above the highest delivered version, `V10__x.sql`.
    """

    id = "history/out-of-order"
    severity = Severity.WARNING
    summary = "New migration numbered below the highest delivered version"
    hint = "Number the migration above the highest delivered version."


class SqlSyntax(Rule):
    """A statement that PostgreSQL (or the configured dialect) cannot parse, after placeholders are substituted.

    Anti-pattern::

        CREATE TABLE users (id bigint PRIMARY KEY,);

    Fix::

        CREATE TABLE users (id bigint PRIMARY KEY);
    """

    id = "sql/syntax"
    summary = "Statement that does not parse"
    hint = "Fix the SQL at the position shown."


class SqlUnreadable(Rule):
    """A script that cannot be split into statements faithfully, so part of it would be cut off or misread.

    A `/* … */` comment, quoted string, quoted identifier or dollar quote that is never closed swallows the rest of
    the script: the statements after it never run, or run as part of something else. A NUL character cannot be sent
    to PostgreSQL at all.

    Anti-pattern::

        CREATE TABLE a (id int);
        /* the old version:
        CREATE TABLE b (id int);

    Fix::

        CREATE TABLE a (id int);
        /* the old version: */
        CREATE TABLE b (id int);
    """

    id = "sql/unreadable"
    summary = "Script that cannot be read in full (unterminated comment or quote, NUL character)"
    hint = "Close the comment or quote (or remove the NUL character) at the position shown."


class PlaceholderUndefined(Rule):
    """A `${name}` placeholder with no value in `[flyway.placeholders]`; Flyway fails when it reaches the script.

    Anti-pattern::

        GRANT SELECT ON users TO ${reader_role};   -- and no reader_role placeholder

    Fix: define it in cascade.toml (and in each child's Flyway configuration)::

        [flyway.placeholders]
        reader_role = "app_reader"
    """

    id = "sql/placeholder-undefined"
    summary = "Placeholder with no value"
    hint = "Define the placeholder under [flyway.placeholders] in cascade.toml."


class EncodingInvalid(Rule):
    """A file that does not decode in the configured encoding (`[flyway] encoding`, default UTF-8).

    Anti-pattern: a script saved as Latin-1 containing `é` in a UTF-8 project.

    Fix: re-save the file as UTF-8 (or set `encoding` in its `.sql.conf`).
    """

    id = "encoding/invalid"
    summary = "File that does not decode in the configured encoding"
    hint = "Re-save the file in the configured encoding."


class TxMixed(Rule):
    """A script that mixes statements PostgreSQL cannot run in a transaction with ordinary ones.

    Flyway detects `CREATE INDEX CONCURRENTLY`, `VACUUM` and the like and refuses the whole script (with its default
    `mixed=false`) unless the script's `.sql.conf` sets `executeInTransaction`.

    Anti-pattern::

        ALTER TABLE users ADD COLUMN email text;
        CREATE INDEX CONCURRENTLY users_email_idx ON users (email);

    Fix: move the concurrent statement into its own migration, or add `V5__x.sql.conf` with
    `executeInTransaction=false`.
    """

    id = "tx/mixed"
    summary = "Transactional and non-transactional statements in one script"
    hint = "Move the non-transactional statement to its own migration, or set executeInTransaction in a .sql.conf."


class ScriptConfigInvalid(Rule):
    """A `<script>.sql.conf` that Flyway rejects (an unknown key or a value that is not a boolean).

    Anti-pattern: `V5__x.sql.conf` containing `flyway.executeInTransaction=false`.

    Fix: `executeInTransaction=false` (no `flyway.` prefix in script configuration files).
    """

    id = "script-config/invalid"
    summary = "Script configuration file that Flyway rejects"
    hint = "Use only executeInTransaction, encoding, placeholderReplacement or shouldExecute, without a prefix."


class ChildVersionCollision(Rule):
    """A child's own migration collides with a shared one, as that child's Flyway sees both folders together.

    Anti-pattern: the parent adds `V40__orders.sql` while child `flyway-1-pipeline` already has its own
    `sql/V40__local.sql` (or both have an `afterMigrate__grants.sql` callback).

    Fix: agree version ranges between the parent and the children (e.g. shared migrations use date-like versions),
    and renumber the shared migration.
    """

    id = "child/version-collision"
    summary = "Shared migration or callback collides with a child's own"
    hint = "Renumber the shared migration (or the child's) so no version or repeatable description is used twice."


class ChildOutOfOrder(Rule):
    """A new shared versioned migration whose version is below the highest version a child already has (its own,
    or shared ones it received), while the child's Flyway does not set `outOfOrder=true`.

    That child's databases are already past this version: Flyway marks the new migration "Ignored" and `migrate`
    fails validation.

    Anti-pattern: shared migrations numbered `V1_4_0__x.sql` while a child's own migrations are at `V1004`.

    Fix: number shared migrations above every child's versions (e.g. date-like versions), or set
    `outOfOrder = true` in the child's Flyway configuration.
    """

    id = "child/out-of-order"
    severity = Severity.WARNING
    summary = "New shared migration below a child's highest version"
    hint = "Number the shared migration above every child's versions, or set outOfOrder=true in that child."


class ChildUnreachable(Rule):
    """`--children` could not fetch a child, so its collisions were not checked.

    Anti-pattern: a child whose url is a path on a developer's machine, or that CI's credentials cannot read.

    Fix: check the child's url in cascade.toml and the credentials CI uses.
    """

    id = "child/unreachable"
    severity = Severity.WARNING
    summary = "Child that could not be fetched for the collision check"
    hint = "Check the child's url in cascade.toml and that CI can fetch it."


class ChildFlywayConfig(Rule):
    """`--children` read a child's own `flyway.toml` or `flyway.conf`, and it holds a value Flyway refuses.

    Anti-pattern: `outOfOrder = "yes"` in a child's flyway.toml (Flyway wants true or false).

    Fix: correct the value in the child's Flyway configuration; its Flyway would refuse to start.
    """

    id = "child/flyway-config"
    severity = Severity.ERROR
    summary = "Child whose Flyway configuration Flyway would refuse"
    hint = "Correct the value in the child's flyway.toml or flyway.conf."


class SuppressionUnknown(Rule):
    """An inline `-- ddl-cascade: ignore <rule-id>` names no known rule, so it silences nothing.

    Anti-pattern: `-- ddl-cascade: ignore lint/drop-tabel`

    Fix: `-- ddl-cascade: ignore lint/drop-table`
    """

    id = "suppression/unknown-rule"
    severity = Severity.WARNING
    summary = "Inline ignore naming an unknown rule"
    hint = "Use a rule id from `docs/validate.md`."


_CLASSES: tuple[type[Rule], ...] = (
    NamingInvalid,
    FileOutsideSource,
    CallbackInvalid,
    CallbackDuplicate,
    VersionDuplicate,
    RepeatableDuplicate,
    HistoryModified,
    HistoryDeleted,
    HistoryRenamed,
    HistoryOutOfOrder,
    SqlSyntax,
    SqlUnreadable,
    PlaceholderUndefined,
    EncodingInvalid,
    TxMixed,
    ScriptConfigInvalid,
    ChildVersionCollision,
    ChildOutOfOrder,
    ChildUnreachable,
    ChildFlywayConfig,
    SuppressionUnknown,
)

RULES: dict[str, RuleInfo] = {c.id: RuleInfo(c.id, c.severity, c.summary) for c in _CLASSES}
HINTS: dict[str, str] = {c.id: c.hint for c in _CLASSES}
DOCS: dict[str, str] = {c.id: inspect.cleandoc(c.__doc__ or "") for c in _CLASSES}


def finding(rule: str, path: str, line: int, column: int, message: str, hint: str | None = None,
            severity: Severity | None = None) -> Finding:
    """A finding of one of these rules, with the rule's severity and hint unless given."""
    info = RULES[rule]
    return Finding(rule, severity or info.severity, path, line, column, message, HINTS[rule] if hint is None else hint)
