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
