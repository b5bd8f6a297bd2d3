"""The throwaway PostgreSQL server: found, started safely (unprivileged, local only), and cleaned away."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ddl_cascade.db import history, server


def test_find_binaries_finds_a_working_server():
    bindir = server.find_binaries()
    assert bindir is not None
    for tool in ("initdb", "pg_ctl", "postgres"):
        assert os.access(bindir / tool, os.X_OK)
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout
    assert out.startswith("postgres (PostgreSQL) ")


def test_ensure_postgres_script_is_satisfied_here():
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(["bash", str(root / "scripts" / "ensure-postgres")], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "PY": sys.executable})
    assert proc.returncode == 0, proc.stderr
    assert "Installing" not in proc.stderr  # binaries were found, nothing was installed


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_server_listens_locally_runs_unprivileged_and_is_removed_on_stop():
    srv = server.start()
    try:
        assert srv.process is not None and srv.process.poll() is None
        with srv.connect() as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
            assert conn.execute("SHOW unix_socket_directories").fetchone() == (str(srv.socket_dir),)
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
        if os.geteuid() == 0:
            assert _uid_of(srv.process.pid) != 0  # initdb and postgres refuse root; we never run them as root
        assert (srv.socket_dir / f".s.PGSQL.{srv.port}").exists()
    finally:
        srv.stop()
    assert not srv.base.exists()
    assert srv.process is None


def test_a_broken_initdb_is_one_clear_error():
    # Not under pytest's tmp_path: when we are root the server runs as another user, who must reach the binaries.
    folder = Path(tempfile.mkdtemp(prefix="ddlc-fakebin-"))
    try:
        folder.chmod(0o755)
        for tool in ("initdb", "pg_ctl", "postgres"):
            (folder / tool).write_text("#!/bin/sh\necho 'initdb: error: simulated failure' >&2\nexit 1\n")
            (folder / tool).chmod(0o755)
        with pytest.raises(server.ServerError, match="initdb failed .*simulated failure"):
            server.start(bindir=folder)
    finally:
        shutil.rmtree(folder)


def test_java_string_hash_known_values():
    assert history.java_string_hash("") == 0
    assert history.java_string_hash("a") == 97 and history.java_string_hash("ab") == 97 * 31 + 98
    assert history.java_string_hash("polygenelubricants") == -2**31  # the classic Integer.MIN_VALUE hash


def test_lock_number_matches_javas_string_hash_code(tmp_path):
    """Flyway's key = LOCK_MAGIC_NUM + table.toString().hashCode(); Java itself is the oracle when present."""
    import random

    rng = random.Random(5)
    alphabet = "abcXYZ_\". 09éß中\U0001F600\U00010348"  # includes characters outside the BMP (surrogate pairs)
    names = ['"public"."flyway_schema_history"', '"app"."flyway_schema_history"', '"Ünïcode"."h"', ""] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(300)]
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on this machine to act as the oracle")
    source = tmp_path / "Hash.java"
    source.write_text(
        "public class Hash { public static void main(String[] a) throws Exception {\n"
        "  long magic = (0x46L << 40) + (0x6CL << 32) + (0x79L << 24) + (0x77 << 16) + (0x61 << 8) + 0x79;\n"
        "  java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, "
        "\"UTF-8\"));\n"
        "  String line; while ((line = r.readLine()) != null) System.out.println(magic + line.hashCode());\n"
        "}}\n")
    proc = subprocess.run([java, str(source)], input="\n".join(names) + "\n", capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [int(x) for x in proc.stdout.split()] == [
        history.LOCK_MAGIC + history.java_string_hash(n) for n in names]


def test_binaries_the_server_user_cannot_reach_are_copied_once_for_it():
    """As root the server runs as another user; binaries in a private folder (a virtualenv under /root, say) are
    copied to a root-owned, read-only place in the temp folder, once, and used from there."""
    if os.geteuid() != 0:
        pytest.skip("only root hands the server to another user")
    real = server.find_binaries()
    private = Path(tempfile.mkdtemp(prefix="ddlc-private-"))  # mode 0700, owned by root
    copies: list[Path] = []
    try:
        install = real.resolve().parent  # bin/ with its lib/ beside it
        shutil.copytree(install, private / install.name, symlinks=True)
        with server.start(bindir=private / install.name / "bin") as srv:
            copies.append(srv.bindir)
            with srv.connect() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        copies.append(server._reachable(private / install.name / "bin", server._run_as()))  # the next run
        assert copies[0] == copies[1] and not str(copies[0]).startswith(str(private))
        top = copies[0].parent.parent
        assert top.name.startswith("ddlc-pginstall-")
        info = top.lstat()
        assert info.st_uid == 0 and not info.st_mode & 0o022
    finally:
        shutil.rmtree(private, ignore_errors=True)
        for copy in set(copies):
            shutil.rmtree(server._template_path(copy, server._run_as()), ignore_errors=True)
            shutil.rmtree(copy.parent.parent, ignore_errors=True)


def test_servers_copied_from_the_kept_template_each_get_their_own_password():
    import psycopg

    first, second = server.start(), server.start()
    try:
        template = server._template_path(first.bindir, server._run_as())
        assert server._trusted(template)  # ours, and writable by nobody else
        info = template.lstat()
        assert info.st_uid == os.geteuid() and not info.st_mode & 0o022
        assert first.password != second.password
        with psycopg.connect(first.url()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(second.url().replace(second.password, first.password))
    finally:
        first.stop()
        second.stop()


def test_a_template_someone_else_could_write_is_never_used(tmp_path):
    planted = tmp_path / "planted"
    (planted / "data").mkdir(parents=True)
    (planted / "data" / "PG_VERSION").write_text("15\n")
    planted.chmod(0o777)
    assert not server._trusted(planted)
    planted.chmod(0o755)
    assert server._trusted(planted)
