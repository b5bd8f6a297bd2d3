"""Shared fixtures: real git repositories in temporary folders, and the installed CLI run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gitrepo import Repo  # noqa: E402


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory, monkeypatch):
    """Every test gets its own global git config: a known identity, `main` as the default branch, no signing."""
    home = tmp_path_factory.mktemp("home")
    cfg = home / ".gitconfig"
    cfg.write_text(
        "[user]\n\tname = Test Author\n\temail = author@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n"
        "[protocol \"file\"]\n\tallow = always\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def make_repo(tmp_path):
    """make_repo(name, bare=False) -> Repo, a fresh repository under tmp_path."""

    def factory(name: str = "repo", bare: bool = False) -> Repo:
        return Repo.init(tmp_path / name, bare=bare)

    return factory


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@pytest.fixture
def cli():
    """cli(*args, cwd=...) runs `python -m ddl_cascade` in a subprocess, exactly as a user or CI would."""

    def run(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, input: str | None = None):
        full_env = dict(os.environ)
        full_env.pop("FORCE_COLOR", None)
        full_env["NO_COLOR"] = "1"
        full_env["COLUMNS"] = "200"
        for name in ("GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH", "GITHUB_TOKEN",  # the tests' own CI job, if any
                     "CI_MERGE_REQUEST_IID"):
            full_env.pop(name, None)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            [sys.executable, "-m", "ddl_cascade", *args],
            cwd=cwd,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
        )
        if prints_json(list(args)) and proc.stdout.strip():
            hold_to_schema(list(args), proc.stdout)
        return CliResult(proc)

    return run


def prints_json(args: list[str]) -> bool:
    formats = [b.lower() for a, b in zip(args, args[1:]) if a == "--format"]
    formats += [a.split("=", 1)[1].lower() for a in args if a.startswith("--format=")]
    return "--json" in args or "json" in formats


def json_command(args: list[str]) -> str:
    """The command whose document `args` print: `sync`, `db status`, ..."""
    words = [a for a in args if not a.startswith("-")]
    return " ".join(words[:2]) if words[:1] == ["db"] else words[0]


def hold_to_schema(args: list[str], stdout: str) -> None:
    """Every `--json` document any test makes is held to the schema shipped for its command."""
    import json

    import jsonschema

    from ddl_cascade.render.schema import shipped

    command = json_command(args)
    document = json.loads(stdout)
    if args[:2] == ["report", "merge"]:  # the merged document has the schema of the command the shards ran
        command = "full" if "publish" in document else "status" if "channels" in document else "sync"
    jsonschema.validate(document, json.loads(shipped(command)),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


# --- PostgreSQL (database tests): one real server per xdist worker, a fresh database per test -----------------------

@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server started by ddl-cascade's own throwaway-server code, stopped at the end of the session."""
    from pgserver import start_session_server

    server = start_session_server()
    yield server
    server.stop()


@pytest.fixture
def pg_db(pg_server):
    """A fresh, empty database on the session's server (`.url`, `.connect()`, `.query(sql)`); dropped afterwards."""
    from pgserver import new_database

    db = new_database(pg_server, str(os.getpid()))
    yield db
    pg_server.drop_database(db.name)


@pytest.fixture(scope="session")
def real_flyway():
    """The real Flyway (tests/flyway_real.py), installed on first use; one clear error when it cannot be."""
    from flyway_real import FlywayUnavailable, RealFlyway, install

    try:
        install()
    except FlywayUnavailable as exc:
        raise RuntimeError(str(exc)) from None
    flyway = RealFlyway()
    yield flyway
    flyway.close()


# --- the local forge (tests/localforge.py): a GitHub on 127.0.0.1 that holds every request to GitHub's contract -----

@pytest.fixture
def local_forge(tmp_path):
    """A fresh `LocalForge` rooted in tmp_path. The test fails at teardown when the forge recorded a violation of
    GitHub's contract that the test did not take with `forge.take_violations()`."""
    from localforge import LocalForge
    from localforge_spec import SpecUnavailable

    try:
        forge = LocalForge(tmp_path / "forge")
    except SpecUnavailable as exc:
        raise RuntimeError(str(exc)) from None
    yield forge
    forge.close()
    if forge.violations:
        pytest.fail("the local forge saw requests GitHub would refuse (or answered against its contract):\n"
                    + "\n".join(f"  {v.where}: {v.method} {v.path}: {v.message}" for v in forge.violations),
                    pytrace=False)


@pytest.fixture
def local_gitea(tmp_path):
    """A fresh `LocalGitea` (tests/localforge_gitea.py) rooted in tmp_path; fails the test at teardown when it recorded
    a violation of Gitea's swagger description that the test did not take with `take_violations()`."""
    from localforge_gitea import LocalGitea
    from localforge_gitea_spec import SpecUnavailable

    try:
        forge = LocalGitea(tmp_path / "gitea")
    except SpecUnavailable as exc:
        raise RuntimeError(str(exc)) from None
    yield forge
    forge.close()
    if forge.violations:
        pytest.fail("the local Gitea saw requests Gitea's swagger does not allow (or answered against it):\n"
                    + "\n".join(f"  {v.where}: {v.method} {v.path}: {v.message}" for v in forge.violations),
                    pytrace=False)


@pytest.fixture
def local_gitlab(tmp_path):
    """A fresh `LocalGitLab` (tests/localforge_gitlab.py) rooted in tmp_path. The test fails at teardown when the forge
    recorded a violation of its GitLab contract that the test did not take with `forge.take_violations()`."""
    from localforge_gitlab import LocalGitLab

    forge = LocalGitLab(tmp_path / "gitlab")
    yield forge
    forge.close()
    if forge.violations:
        pytest.fail("the local GitLab saw requests GitLab would refuse (or answered against its contract):\n"
                    + "\n".join(f"  {v.where}: {v.method} {v.path}: {v.message}" for v in forge.violations),
                    pytrace=False)


def pytest_collection_modifyitems(config, items):
    """The tests marked `slow` first: pytest-xdist hands tests out in this order, so the long ones start at once and
    the run does not end with one worker alone on a long test while the other idles (longest first)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
