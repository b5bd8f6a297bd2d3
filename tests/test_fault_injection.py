"""Kill a sync of 30 children with SIGKILL at 20 random moments: nothing is ever lost or half-written.

Each round delivers a new migration, starts `ddl-cascade sync` as a separate process, and kills its whole process
group (every git it started included) after a random delay within the time a sync takes. The children are served by a
real `git daemon` on 127.0.0.1 in a process group of its own, as a forge would serve them: the kill reaches the
client side of each push, never the receiving side. After every kill, each child must be
at its old tip or at a commit holding the delivered tree that descends from the old tip (no commit lost, nothing
half-pushed). The next run must finish the job. At the end every child is in sync. The seed is printed so that a
failure can be replayed (DDLC_FAULT_SEED=<seed>).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time

import pytest
from cascade_world import PREFIX, make_world

from ddl_cascade.cascade.commands import status
from ddl_cascade.cascade.state import State

CHILDREN = 30
KILLS = 20


@pytest.fixture
def daemon(tmp_path):
    """(start(base) -> git:// URL prefix): a `git daemon` serving fetch and push of every repository under `base`."""
    started = []

    def start(base) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        proc = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
                                 f"--base-path={base}", "--listen=127.0.0.1", f"--port={port}", str(base)],
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return f"git://127.0.0.1:{port}"
            time.sleep(0.05)
        raise RuntimeError("git daemon did not start")

    yield start
    for proc in started:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _serve(world, url: str) -> None:
    """Point the config at the daemon's URLs instead of the children's paths."""
    config = world.write_config().read_text()
    for repo in world.children.values():
        config = config.replace(f'url = "{repo.path}"', f'url = "{url}/{repo.path.name}"')
    world.config_path.write_text(config)


def _tips(world) -> dict[str, str]:
    return {name: repo.head("main") for name, repo in world.children.items()}


def _sync(world, env, out=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ddl_cascade", "sync", "--config", str(world.config_path)],
                            env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


def _is_ancestor(repo, old: str, new: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", old, new], cwd=repo.path).returncode == 0


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_converges(tmp_path, daemon):
    seed = int(os.environ.get("DDLC_FAULT_SEED", random.randrange(1 << 30)))
    print(f"DDLC_FAULT_SEED={seed}")
    rng = random.Random(seed)
    world = make_world(tmp_path, {f"c{i:02d}": ("squash" if i % 3 else "merge") for i in range(CHILDREN)})
    _serve(world, daemon(tmp_path))
    env = dict(os.environ, NO_COLOR="1")

    assert _sync(world, env).wait(timeout=300) == 0
    world.deliver({"sql/V3__warm_up.sql": "create table warm (id int);\n"}, "warm up")
    started = time.monotonic()
    timed = _sync(world, env)  # how long a run with one new delivery takes: kills land within it
    assert timed.wait(timeout=300) == 0
    full_run = time.monotonic() - started

    killed_mid_run = 0
    for round_ in range(KILLS):
        delivered = world.deliver({f"sql/V{round_ + 4}__round_{round_}.sql": f"create table r{round_} (id int);\n"},
                                  f"round {round_}")
        delivered_tree = world.parent.tree(delivered)
        old = _tips(world)
        proc = _sync(world, env)
        time.sleep(rng.uniform(0, full_run))
        if proc.poll() is None:
            killed_mid_run += 1
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and every git process it started
        except ProcessLookupError:
            pass  # it had already finished, and so had its children
        proc.wait()
        for name, repo in world.children.items():
            tip = repo.head("main")
            if tip == old[name]:
                continue
            assert _is_ancestor(repo, old[name], tip), f"round {round_}, seed {seed}: {name} lost {old[name]}"
            assert repo.tree(tip, PREFIX) == delivered_tree, f"round {round_}, seed {seed}: {name} half-written"
        rerun = _sync(world, env, subprocess.PIPE)
        said = rerun.communicate(timeout=300)[0].decode()
        assert rerun.returncode == 0, f"round {round_}, seed {seed}: {said}"
        for name, repo in world.children.items():
            assert _is_ancestor(repo, old[name], repo.head("main")), f"seed {seed}: {name} lost a commit"
            assert repo.tree("main", PREFIX) == delivered_tree

    assert killed_mid_run >= KILLS // 2, f"seed {seed}: most kills landed after the run had ended"
    from ddl_cascade import config

    report = status(config.load(world.config_path))
    assert {c.state for c in report.children} == {State.IN_SYNC}
