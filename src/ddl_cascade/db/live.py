"""Reading a live environment without ever writing to it: `db verify --against` and `db drift`.

Why a module of its own: these are the only commands that point ddl-cascade at a database someone cares about only to
look at it, so the rules of looking live in one place:
- the connection is read-only twice over: `default_transaction_read_only=on` in its startup options (the server then
  refuses any write, whatever the role may do) and one REPEATABLE READ READ ONLY transaction, so every query sees the
  same moment. It only runs SELECTs and `COPY (SELECT …) TO STDOUT`;
- `pg_dump --schema-only` (for verify) gets the environment's credentials through libpq's environment variables
  (`PGHOST`, `PGUSER`, … named by libpq itself, `PQconndefaults`) and the password through a passfile of mode 0600
  in a private temporary folder, deleted afterwards: never in argv, where `ps` shows it to every local user. The
  PG* variables of our own environment are not passed on, so only the target's settings reach pg_dump. It runs on
  the snapshot the read-only transaction exported, so the schema and the history rows are of the same moment;
- a read-only role suffices: CONNECT on the database, USAGE on the schemas, SELECT on the tables (pg_dump locks
  each table it dumps in ACCESS SHARE mode, which needs SELECT; the history rows are read with SELECT);
- restoring the dump on the throwaway server keeps owners and grants, because they are part of the schema a
  migration meets (a REVOKE, an ALTER … OWNER, a grant drift compares). The roles they name are cluster objects a
  database dump does not carry, so each role of the environment's cluster that the throwaway server lacks is created
  there first, by name only (NOLOGIN, no attributes, no memberships, no password: `pg_roles` never shows one).
  Tablespaces, security labels and subscriptions are left out: they name things of the other machine.

A server newer than the local pg_dump (pg_dump refuses it) or than the throwaway server (a newer dump may not
restore) is refused before anything runs, naming both versions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ddl_cascade.db.history import SchemaHistory, quote_ident
from ddl_cascade.db.target import CONNECT_TIMEOUT, Target, connect_options, reason_of
from ddl_cascade.errors import CascadeError
from ddl_cascade.flyway.settings import Settings
from ddl_cascade.redact import redact

READ_ONLY = "-c default_transaction_read_only=on"
DUMP_TIMEOUT = 600


@dataclass(frozen=True)
class PgVersion:
    """A PostgreSQL version as `server_version` or `pg_dump --version` print it."""

    major: int
    text: str

    @classmethod
    def parse(cls, text: str) -> "PgVersion":
        """`15.18 (Debian 15.18-0+deb12u1)`, `pg_dump (PostgreSQL) 17.2`, `18beta1`, `9.6.24`: the first number,
        with its minor for versions before 10 (whose major is two numbers)."""
        m = re.search(r"(\d+)(?:\.(\d+))?(?:\.\d+)?((?:devel|alpha|beta|rc)\d*)?", text)
        if m is None:
            raise ValueError(f"not a PostgreSQL version: {text!r}")
        major = int(m.group(1))
        return cls(major * 100 + int(m.group(2) or 0) if major < 10 else major, m.group(0))


def newer_than_tools(server: PgVersion, pg_dump: PgVersion | None, throwaway: int | None) -> str | None:
    """Why this environment's server cannot be copied with the local tools (None when it can): pg_dump refuses a
    server of a newer major version, and the throwaway server may not restore a newer server's schema."""
    if pg_dump is not None and server.major > pg_dump.major:
        return (f"runs PostgreSQL {server.text}, newer than the local pg_dump {pg_dump.text}, which refuses to dump "
                f"it (server version mismatch); install the PostgreSQL {server.major} client and server tools")
    if throwaway is not None and server.major > throwaway:
        return (f"runs PostgreSQL {server.text}, newer than the throwaway server (PostgreSQL {throwaway}), which "
                f"may not read its schema; install PostgreSQL {server.major} server tools")
    return None


class Environment:
    """One live environment opened read-only: its connection (inside one read-only transaction), its history table
    and, for verify, its schema dump."""

    def __init__(self, target: Target, conn, settings: Settings) -> None:
        from ddl_cascade.db import engine

        self.target = target
        self.conn = conn
        self.name = target.environment or target.display
        session = engine.Session.open(conn, target.environment, settings)
        self.schema, self.table = session.schema, session.table
        self.user = session.user
        self.search_path = session.search_path
        self.history = SchemaHistory(conn, self.schema, self.table)
        self.version = PgVersion.parse(conn.execute("SHOW server_version").fetchone()[0])
        self.snapshot: str | None = None

    def describe(self) -> str:
        return f"environment '{self.name}'" if self.target.environment else self.target.display

    def require_history(self) -> None:
        """The history table must be there and readable: without it there is nothing to verify against or compare."""
        import psycopg

        if not self.history.exists():
            raise CascadeError(f"{self.describe()} ({self.target.display}) has no schema history table "
                               f"{self.history.name}: it was never migrated, or `table` / `schemas` / "
                               f"`default_schema` of [environments.{self.name}] name another one.")
        try:
            self.conn.execute(f'SELECT 1 FROM {self.history.name} LIMIT 1').fetchall()
        except psycopg.Error as exc:
            raise CascadeError(f"{self.describe()} ({self.target.display}): cannot read {self.history.name}: "
                               f"{_primary(exc)}; grant the role SELECT on it.") from None

    def roles(self) -> list[str]:
        """The cluster's roles, without PostgreSQL's own (`pg_*`)."""
        return [r for (r,) in self.conn.execute(
            "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname").fetchall()]

    def read_history(self) -> list[bytes]:
        """Every row of the history table as COPY text data, in installed_rank order (`write_history` writes it)."""
        with self.conn.cursor() as cur, cur.copy(f"COPY (SELECT * FROM {self.history.name} ORDER BY 1) TO STDOUT") \
                as out:
            return [bytes(data) for data in out]

    def search_path_for(self, user: str) -> str:
        """The environment's search_path with `"$user"` spelled out as its user, for a session of another user."""
        return self.search_path.replace('"$user"', quote_ident(self.user)).replace("$user", quote_ident(self.user))

    def dump_schema(self, destination: Path, pg_dump: Path) -> None:
        """`pg_dump --schema-only --format=custom` of the whole database into `destination`, with the credentials
        in the environment and a passfile, on the read-only transaction's snapshot when it exported one."""
        args = [str(pg_dump), "--schema-only", "--format=custom", "--no-tablespaces", "--no-security-labels",
                "--no-subscriptions", f"--file={destination}"]
        if self.snapshot:
            args.append(f"--snapshot={self.snapshot}")
        with libpq_environment(self.target.url) as env:
            try:
                proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=DUMP_TIMEOUT,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise CascadeError(f"pg_dump of {self.describe()} ({self.target.display}) did not finish within "
                                   f"{DUMP_TIMEOUT} s.") from None
            except OSError as exc:
                raise CascadeError(f"cannot run {pg_dump}: {exc.strerror}.") from None
        if proc.returncode != 0:
            raise CascadeError(dump_failure(proc.stderr, f"{self.describe()} ({self.target.display})"))


def dump_failure(stderr: str, where: str) -> str:
    """pg_dump's failure as one sentence about `where`: a server too new for it (its own "server version mismatch",
    with both versions), a privilege it lacks (the table, and the grants a read-only role needs), else its error."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [re.sub(r"^pg_dump: (error: )?", "", ln) for ln in lines if ln.startswith("pg_dump: error:")]
    details = [re.sub(r"^pg_dump: detail: ", "", ln) for ln in lines if ln.startswith("pg_dump: detail:")]
    first = redact(errors[0] if errors else (lines[0] if lines else "exit status not zero"))
    first = re.sub(r"^query failed: (ERROR:\s+)?", "", first)
    if "server version mismatch" in stderr:
        versions = "; ".join(details) or first
        return (f"pg_dump refuses {where}: {versions}; install the client tools of the server's PostgreSQL "
                "version.")
    if "permission denied" in first:
        on = next((d for d in details if d.startswith("Query was:")), "")
        on = f" ({redact(on)})" if on else ""
        return (f"the role of {where} may not read the schema with pg_dump: {first}{on}; grant it CONNECT on "
                "the database, USAGE on the schemas and SELECT on the tables (a read-only role suffices).")
    return f"pg_dump could not read the schema of {where}: {first.rstrip('.')}."


def _primary(exc) -> str:
    primary = getattr(getattr(exc, "diag", None), "message_primary", None)
    return redact(primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]).rstrip(".")


@contextmanager
def opened(target: Target, settings: Settings) -> Iterator[Environment]:
    """The environment behind `target`, opened read-only (see the module docstring); closed afterwards. Every
    database error is one sentence naming it, password redacted."""
    import psycopg

    try:
        conn = psycopg.connect(target.url, autocommit=False, connect_timeout=CONNECT_TIMEOUT,
                               **connect_options(target.url, READ_ONLY))
    except psycopg.ProgrammingError as exc:
        raise CascadeError(f"{target.display} is not a valid PostgreSQL URL: {reason_of(exc, target)}.") from None
    except psycopg.OperationalError as exc:
        raise CascadeError(f"cannot connect to {target.display}: {reason_of(exc, target)}.") from None
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            environment = Environment(target, conn, settings)
            try:
                with conn.transaction(savepoint_name="ddlc_snapshot"):
                    environment.snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            except psycopg.Error:
                environment.snapshot = None  # a server that cannot export one (a standby): pg_dump takes its own
            yield environment
        except psycopg.Error as exc:
            raise CascadeError(f"{target.display}: {_primary(exc)}.") from None
    finally:
        try:
            conn.rollback()  # nothing was written; end the transaction before closing
        except psycopg.Error:
            pass
        conn.close()


# -- credentials for libpq's command-line tools -----------------------------------------------------------------------


def _passfile_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


@contextmanager
def libpq_environment(url: str) -> Iterator[dict[str, str]]:
    """Environment variables that make a libpq program (pg_dump) connect where `url` says, read-only: each
    connection parameter in the variable libpq itself names for it (`PQconndefaults`), the password in a passfile
    (mode 0600, in a private folder, removed on exit). Nothing of the URL goes into argv."""
    from psycopg import pq
    from psycopg.conninfo import conninfo_to_dict

    params = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_MESSAGES="C", LC_ALL="C")
    envvars = {opt.keyword.decode(): opt.envvar.decode() for opt in pq.Conninfo.get_defaults() if opt.envvar}
    password = params.pop("password", None)
    params["options"] = f"{params['options']} {READ_ONLY}" if params.get("options") else READ_ONLY
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    for keyword, value in params.items():
        name = envvars.get(keyword)
        if name is None:
            raise CascadeError(f"the connection parameter {keyword!r} cannot be passed to pg_dump.")
        env[name] = value
    folder = Path(tempfile.mkdtemp(prefix="ddlc-pgpass-"))  # mode 0700
    try:
        if password is not None:
            passfile = folder / "pgpass"
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"*:*:*:*:{_passfile_escape(password)}\n")
            env["PGPASSFILE"] = str(passfile)
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- the local tools ----------------------------------------------------------------------------------------------------


def tool(name: str, bindir: Path | None) -> Path:
    """`pg_dump` or `pg_restore` next to the throwaway server's binaries (same version), else on PATH."""
    if bindir is not None and os.access(bindir / name, os.X_OK):
        return bindir / name
    found = shutil.which(name)
    if found is None:
        raise CascadeError(f"{name} is not installed: install the PostgreSQL client tools.")
    return Path(found)


def tool_version(path: Path) -> PgVersion:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30).stdout
        return PgVersion.parse(out)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        raise CascadeError(f"cannot tell the version of {path} (`{path.name} --version`).") from None


def create_roles(conn, names: list[str], superuser: bool = False) -> list[str]:
    """Create each role of `names` the server of `conn` lacks (NOLOGIN; SUPERUSER when asked); returns them."""
    from psycopg import sql

    have = {r for (r,) in conn.execute("SELECT rolname FROM pg_catalog.pg_roles").fetchall()}
    made = []
    for name in names:
        if name in have:
            continue
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN" + (" SUPERUSER" if superuser else "")).format(
            sql.Identifier(name)))
        made.append(name)
    return made


def write_history(conn, table: str, rows: list[bytes]) -> None:
    """Write history rows read by `Environment.read_history` into the same table (`table`, qualified) of `conn`."""
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as inp:
        for data in rows:
            inp.write(data)


def restore(dump: Path, pg_restore: Path, conninfo: str, what: str) -> None:
    """Restore a custom-format schema dump into the throwaway database `conninfo` (unix socket, no password), in
    one transaction, stopping at the first error."""
    proc = subprocess.run([str(pg_restore), "--exit-on-error", "--single-transaction", "--no-tablespaces",
                           "--no-security-labels", "--no-subscriptions", f"--dbname={conninfo}", str(dump)],
                          capture_output=True, text=True, timeout=DUMP_TIMEOUT, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, LC_MESSAGES="C", LC_ALL="C"))
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        telling = next((ln for ln in lines if "ERROR:" in ln), lines[0] if lines else f"exit {proc.returncode}")
        telling = re.sub(r"^.*?ERROR:\s+", "", telling)
        raise CascadeError(f"the schema of {what} cannot be restored on the throwaway server: "
                           f"{redact(telling).rstrip('.')}.")
