"""Unattended (issue 9): a run never hangs on a remote, stops promptly on Ctrl-C, says when it waits for the lock,
and never shows a credential in a process's argv."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cascade_world import PREFIX, make_world
from unattended import GitHttpServer, SilentServer, all_cmdlines, hanging_ssh, processes_with


def _with_timeout(world, seconds: float) -> None:
    text = world.config_path.read_text()
    world.config_path.write_text(text.replace("[source]\n", f"[sync]\ntimeout = {seconds:g}\n\n[source]\n", 1))


def _no_process_left(marker: str) -> None:
    deadline = time.time() + 3
    while processes_with(marker) and time.time() < deadline:
        time.sleep(0.1)
    assert processes_with(marker) == []


def test_a_remote_that_never_answers_times_out_and_leaves_no_process(tmp_path, cli):
    silent = SilentServer()
    try:
        world = make_world(tmp_path, {"a": "squash", "b": "merge"})
        world.extra = [("hung-http", f"http://127.0.0.1:{silent.port}/o/r.git"),
                       ("hung-ssh", f"ssh://127.0.0.1/{uuid.uuid4().hex}/r.git")]
        world.write_config()
        _with_timeout(world, 2)
        marker = f"DDL_TEST_RUN={uuid.uuid4().hex}"
        env = {"GIT_SSH_COMMAND": str(hanging_ssh(tmp_path)), "DDL_TEST_RUN": marker.split("=")[1]}

        started = time.time()
        out = cli("sync", "--json", "--jobs", "4", "--config", str(world.config_path), env=env)
        took = time.time() - started
        assert out.code == 1, out
        results = {c["name"]: c for c in json.loads(out.stdout)["children"]}
        assert results["a"]["result"] == results["b"]["result"] == "updated"
        for name in ("hung-http", "hung-ssh"):
            assert results[name]["result"] == "failed" and "timed out after 2 s" in results[name]["error"], results
        assert took < 20, took
        assert world.children["a"].tree("main", PREFIX) is not None
        _no_process_left(marker.split("=")[1])

        out = cli("status", "--json", "--config", str(world.config_path), env=env)
        states = {c["name"]: c for c in json.loads(out.stdout)["children"]}
        assert out.code == 1 and states["a"]["state"] == "in_sync", out
        assert states["hung-ssh"]["state"] == "unreachable" and "timed out after 2 s" in states["hung-ssh"]["error"]
        assert states["hung-http"]["state"] == "unreachable" and "timed out" in states["hung-http"]["error"]
        _no_process_left(marker.split("=")[1])
    finally:
        silent.close()


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    full = dict(os.environ, NO_COLOR="1", COLUMNS="200", **env)
    full.pop("FORCE_COLOR", None)
    return subprocess.Popen([sys.executable, "-m", "ddl_cascade", *args], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(condition, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_the_run_promptly_keeps_what_was_pushed_and_releases_the_lock(tmp_path, cli, signum):
    """Ctrl-C, and SIGTERM (a cancelled CI job) alike."""
    world = make_world(tmp_path, {"a": "squash", "b": "merge", "slow": "squash"})
    started = tmp_path / "hook-started"
    hook = world.children["slow"].path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep 60\n")
    hook.chmod(0o755)
    mark = uuid.uuid4().hex

    proc = _start(["sync", "--jobs", "3", "--config", str(world.config_path)], {"DDL_TEST_RUN": mark})
    try:
        _wait_for(lambda: started.exists() and all(world.children[n].tree("main", PREFIX) for n in ("a", "b")))
        stopped_at = time.time()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
        took = time.time() - stopped_at
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert took < 5, took
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["ddl-cascade: interrupted: 2 of 3 children updated before it (a, b); 1 not done or not "
                     "confirmed (slow): run again to finish."], err
    assert "Traceback" not in err
    _no_process_left(mark)
    assert world.children["slow"].tree("main", PREFIX) is None  # the hook never let it in

    hook.unlink()
    again = cli("sync", "--json", "--config", str(world.config_path), env={"DDL_CASCADE_LOCK_TIMEOUT": "1"})
    assert again.code == 0, again
    results = {c["name"]: c["result"] for c in json.loads(again.stdout)["children"]}
    assert results == {"a": "unchanged", "b": "unchanged", "slow": "updated"}


def test_a_run_waiting_for_the_lock_says_so_at_once(tmp_path):
    from ddl_cascade.lock import lock_path, parent_lock

    world = make_world(tmp_path, {"a": "squash"})
    config = world.config()
    with parent_lock(config):
        proc = _start(["status", "--config", str(world.config_path)], {"DDL_CASCADE_LOCK_TIMEOUT": "30"})
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline()  # blocks until the waiting run says something
            assert first == f"ddl-cascade: waiting for another run on this parent (lock {lock_path(config)}) …\n"
            assert proc.poll() is None  # still waiting
        except BaseException:
            proc.kill()
            raise
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)  # it ran: the child is not_added
    assert "waiting for another run" not in err and "not_added" in out


def test_a_credential_in_a_child_url_never_appears_in_any_argv(tmp_path, cli):
    import threading

    world = make_world(tmp_path, {})
    served = tmp_path / "served"
    served.mkdir()
    bare = world.add_child("web")
    (served / "web.git").symlink_to(bare.path)
    hook = bare.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nsleep 1\n")  # keeps git push alive while the scan looks
    hook.chmod(0o755)
    token = "tok" + uuid.uuid4().hex
    server = GitHttpServer(served, "x-access-token", token)
    seen: list[bytes] = []
    done = threading.Event()

    def scan() -> None:
        while not done.is_set():
            seen.extend(all_cmdlines())
            time.sleep(0.02)

    scanner = threading.Thread(target=scan, daemon=True)
    try:
        del world.children["web"]
        world.extra = [("web", f"http://x-access-token:{token}@127.0.0.1:{server.port}/web.git")]
        world.write_config()
        scanner.start()
        out = cli("sync", "--json", "--config", str(world.config_path))
    finally:
        done.set()
        scanner.join()
        server.close()
    assert out.code == 0, out
    assert json.loads(out.stdout)["children"][0]["result"] == "updated"
    assert bare.tree("main", PREFIX) is not None and server.seen_auth  # the credential reached git
    assert any(f"127.0.0.1:{server.port}".encode() in c for c in seen)  # the scan did see git at work
    assert [c for c in seen if token.encode() in c] == []
