"""The parent lock: a second run waits a bounded time, then fails with one clear sentence."""

from __future__ import annotations

import threading
import time

from cascade_world import make_world

from ddl_cascade.lock import parent_lock


def test_second_run_fails_clearly_while_the_lock_is_held(tmp_path, cli):
    world = make_world(tmp_path, {"a": "squash"})
    config = world.config()
    with parent_lock(config):
        with parent_lock(config):  # re-entrant in one process (full = publish + sync)
            pass
        started = time.time()
        out = cli("sync", "--config", str(world.config_path), env={"DDL_CASCADE_LOCK_TIMEOUT": "0.5"})
        assert out.code == 2, out
        assert "another ddl-cascade run holds the lock" in out.stderr and "Traceback" not in out.stderr
        assert time.time() - started < 20
    assert world.children["a"].tree("main", "read-only-flyway-files") is None  # nothing happened
    out = cli("sync", "--config", str(world.config_path), env={"DDL_CASCADE_LOCK_TIMEOUT": "0.5"})
    assert out.code == 0, out


def test_waiter_gets_the_lock_when_released(tmp_path):
    world = make_world(tmp_path, {})
    config = world.config()
    order = []

    def holder():
        with parent_lock(config):
            order.append("held")
            time.sleep(0.5)
        order.append("released")

    thread = threading.Thread(target=holder)
    thread.start()
    while not order:
        time.sleep(0.01)
    import subprocess
    import sys

    code = ("import sys; from ddl_cascade import config; from ddl_cascade.lock import parent_lock\n"
            f"with parent_lock(config.load({str(world.config_path)!r}), timeout=10): print('got it')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    thread.join()
    assert out.stdout.strip() == "got it" and order == ["held", "released"]
    with parent_lock(config):
        blocked = subprocess.run([sys.executable, "-c", code.replace("timeout=10", "timeout=0.2")],
                                 capture_output=True, text=True)
    assert blocked.returncode != 0 and "LockTimeout" in blocked.stderr and "got it" not in blocked.stdout


def test_validate_children_does_not_touch_the_cache_while_a_sync_holds_the_lock(tmp_path, cli):
    # `validate --children` fetches through the same cache as sync, so it must wait for the lock like sync does.
    world = make_world(tmp_path, {"a": "squash"})
    config = world.config()
    with parent_lock(config):
        out = cli("validate", "--children", "--config", str(world.config_path),
                  env={"DDL_CASCADE_LOCK_TIMEOUT": "0.5"})
        assert out.code == 2, out
        assert "another ddl-cascade run holds the lock" in out.stderr
    out = cli("validate", "--children", "--config", str(world.config_path), env={"DDL_CASCADE_LOCK_TIMEOUT": "5"})
    assert out.code in (0, 1), out  # it ran: findings or none, but no lock error
    assert "holds the lock" not in out.stderr
