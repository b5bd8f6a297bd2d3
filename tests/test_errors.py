"""One error path: every expected failure is one sentence on stderr and a mapped exit code, on both entry points.

Exit 2: usage, config, bad input. Exit 1: the work failed. Exit 130: interrupted. Anything else is a traceback.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest

from ddl_cascade import errors

SOURCE = "read-write-flyway-files"


def one_line(result, code: int) -> str:
    """The one `ddl-cascade: ...` line of a failed run, after checking its exit code and that nothing else is there."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == code, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ddl-cascade: "), result.stderr
    return lines[0]


@pytest.fixture
def parent(make_repo):
    repo = make_repo("parent")
    repo.commit({"cascade.toml": f'[source]\npath = "{SOURCE}"\n',
                 f"{SOURCE}/sql/V1__one.sql": "create table one (id int);\n"}, "V1")
    return repo


# --- the handler and its table ----------------------------------------------------------------------------------------

def test_every_type_in_the_exit_code_table_exists():
    for dotted, code in errors.EXIT_CODES:
        module, _, name = dotted.rpartition(".")
        kind = getattr(importlib.import_module(module), name, None)
        assert isinstance(kind, type) and issubclass(kind, Exception), dotted
        assert code in (1, 2)


def run_handler(exc: BaseException, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        with errors.error_handler():
            raise exc
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("make, code, text", [
    (lambda: errors.CascadeError("bad input."), 2, "ddl-cascade: bad input.\n"),
    (lambda: errors.ConfigError("cascade.toml: bad key."), 2, "ddl-cascade: cascade.toml: bad key.\n"),
    (lambda: errors.WorkFailed("it broke."), 1, "ddl-cascade: it broke.\n"),
    (lambda: KeyboardInterrupt(), 130, "ddl-cascade: interrupted.\n"),
])
def test_handler_maps_our_types(make, code, text, capsys):
    assert run_handler(make(), capsys) == (code, text)


def test_git_error_is_exit_1_with_gits_first_telling_line(capsys):
    from ddl_cascade import git

    stderr = "hint: some hint\nfatal: unable to access 'https://u:tok@host/r.git/': Could not resolve host\n"
    exc = git.GitError(["-c", "x=y", "fetch", "https://u:tok@host/r.git"], 128, stderr)
    code, err = run_handler(exc, capsys)
    assert code == 1
    assert err == ("ddl-cascade: git fetch failed: unable to access 'https://u:***@host/r.git/': "
                   "Could not resolve host\n")


def test_flyway_error_is_exit_1(capsys):
    from ddl_cascade import flyway

    code, err = run_handler(flyway.FlywayError("Invalid version: 1.x"), capsys)
    assert (code, err) == (1, "ddl-cascade: Invalid version: 1.x\n")


def test_database_errors_cannot_connect_is_2_refused_statement_is_1(capsys):
    import psycopg

    code, err = run_handler(psycopg.OperationalError("connection refused\nIs the server running?"), capsys)
    assert (code, err) == (2, "ddl-cascade: database error: connection refused\n")
    code, err = run_handler(psycopg.errors.InsufficientPrivilege("permission denied for table t"), capsys)
    assert (code, err) == (1, "ddl-cascade: database error: permission denied for table t\n")


def test_credentials_are_redacted_and_the_message_is_one_line(capsys):
    code, err = run_handler(errors.CascadeError("cannot reach\nhttps://bot:s3cret@example.com/x.git."), capsys)
    assert (code, err) == (2, "ddl-cascade: cannot reach https://bot:***@example.com/x.git.\n")


def test_anything_else_is_a_bug_and_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        with errors.error_handler():
            1 / 0


def test_interrupted_inside_exec_still_exits_130(tmp_path):
    # A KeyboardInterrupt out of exec(str) (how dataclasses build methods, e.g. while a command imports) makes CPython
    # kill itself with SIGINT at exit under `python -m`, even when handled; the handler must undo that.
    (tmp_path / "interrupt_in_exec.py").write_text("from ddl_cascade.errors import error_handler\n"
                                                   "with error_handler():\n"
                                                   "    exec('raise KeyboardInterrupt')\n")
    proc = subprocess.run([sys.executable, "-m", "interrupt_in_exec"], cwd=tmp_path, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (130, "ddl-cascade: interrupted.\n")


def test_a_ctrl_c_while_the_command_line_loads_is_handled_too(parent):
    code = ("import builtins\n"
            "real = builtins.__import__\n"
            "def imp(name, *a, **k):\n"
            "    if name == 'typer':\n"
            "        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = imp\n"
            "from ddl_cascade.entry import main\n"
            "main(['status'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=parent.path, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (130, "ddl-cascade: interrupted.\n")


def test_the_publish_fast_path_loads_neither_typer_nor_click(parent):
    (parent.path / ".git" / "refs" / "heads" / "ro-shared-ddl.lock").touch()  # an error on the fast path
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click'}),"
            " file=sys.stderr))\n"
            "from ddl_cascade.entry import main\n"
            "main(['publish'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=parent.path, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1] == "[]"


# --- the Typer path, in-process ---------------------------------------------------------------------------------------

def run_cli(args, capsys) -> tuple[int, str]:
    from ddl_cascade.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code, capsys.readouterr().err


def test_typer_path_says_interrupted_and_exits_130(monkeypatch, capsys):
    def interrupted(path=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("ddl_cascade.config.load", interrupted)
    assert run_cli(["status"], capsys) == (130, "ddl-cascade: interrupted.\n")


def test_typer_path_maps_git_errors(monkeypatch, capsys):
    from ddl_cascade import git

    def fails(path=None):
        raise git.GitError(["rev-list", "main"], 128, "fatal: bad revision 'main'\n")

    monkeypatch.setattr("ddl_cascade.config.load", fails)
    assert run_cli(["status"], capsys) == (1, "ddl-cascade: git rev-list failed: bad revision 'main'\n")


# --- known tracebacks, through the real CLI ---------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("publish",), ("publish", "--json"), ("publish", "--")],
                         ids=["fast-path", "fast-path-json", "typer-path"])
def test_stale_ref_lock_names_the_ref_and_what_to_do(parent, cli, args):
    lock = parent.path / ".git" / "refs" / "heads" / "ro-shared-ddl.lock"
    lock.touch()
    line = one_line(cli(*args, cwd=parent.path), 2)
    assert "refs/heads/ro-shared-ddl" in line and str(lock) in line
    assert "remove that stale lock file" in line
    lock.unlink()
    assert cli(*args, cwd=parent.path).code == 0


def test_demo_into_a_file_is_one_sentence(tmp_path, cli):
    existing = tmp_path / "a-file"
    existing.write_text("x")
    assert one_line(cli("demo", str(existing)), 2) == \
        f"ddl-cascade: demo folder {existing} is a file, not a folder; give a new or empty folder."
    line = one_line(cli("demo", str(existing / "below")), 2)
    assert line.startswith(f"ddl-cascade: cannot create demo folder {existing / 'below'}: ")


def test_validate_base_that_is_a_range_names_no_commit(parent, cli):
    assert one_line(cli("validate", "--base", "main..main", cwd=parent.path), 2) == \
        f"ddl-cascade: --base 'main..main' names no commit in {parent.path}."


def test_db_verify_with_a_file_name_that_is_not_utf8(parent, cli):
    parent.write({f"{SOURCE}/sql/" + os.fsdecode(b"V2__caf\xe9.sql"): "create table two (id int);\n"})
    line = one_line(cli("db", "verify", cwd=parent.path), 2)
    assert line == (f"ddl-cascade: {SOURCE}/sql/V2__caf\ufffd.sql: the file name is not valid UTF-8, so Flyway "
                    "cannot record it in flyway_schema_history; rename the file.")


def test_config_that_is_missing_or_a_folder(parent, cli, tmp_path):
    assert one_line(cli("status", "--config", str(tmp_path / "nope.toml"), cwd=parent.path), 2) == \
        f"ddl-cascade: config file {tmp_path / 'nope.toml'} does not exist."
    assert one_line(cli("status", "--config", str(tmp_path), cwd=parent.path), 2) == \
        f"ddl-cascade: config file {tmp_path} is a folder, not a file."
    assert one_line(cli("publish", "--config", str(tmp_path), cwd=parent.path), 2) == \
        f"ddl-cascade: config file {tmp_path} is a folder, not a file."


def test_unknown_child(parent, cli):
    for command in ("sync", "status"):
        assert one_line(cli(command, "nosuch", cwd=parent.path), 2) == \
            f"ddl-cascade: {parent.path / 'cascade.toml'}: no child named 'nosuch'."


# --- usage errors and help --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (("sync", "--jobs", "0"), "ddl-cascade: Invalid value for '--jobs': Input should be greater than or equal to 1 "
                              "(see 'ddl-cascade sync --help')"),
    (("publish", "--bogus"), "ddl-cascade: No such option: --bogus (Possible options: --push) "
                             "(see 'ddl-cascade publish --help')"),
    (("db", "verify", "--nope"), "ddl-cascade: No such option: --nope (see 'ddl-cascade db verify --help')"),
    (("nosuch",), "ddl-cascade: No such command 'nosuch'. (see 'ddl-cascade --help')"),
    (("status", "--config"), "ddl-cascade: Option '--config' requires an argument. "
                             "(see 'ddl-cascade status --help')"),
])
def test_usage_errors_are_one_line(parent, cli, args, expected):
    assert one_line(cli(*args, cwd=parent.path), 2) == expected


COMMANDS = [(), ("publish",), ("validate",), ("status",), ("sync",), ("full",), ("reset",), ("demo",), ("db",),
            ("db", "verify"), ("db", "migrate"), ("db", "status"), ("ci",), ("ci", "init")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_has_no_type_markers_and_h_is_help(cli, command):
    long = cli(*command, "--help")
    short = cli(*command, "-h")
    assert long.code == 0 and short.code == 0, (long, short)
    assert short.stdout == long.stdout and "Usage: ddl-cascade" in long.stdout
    assert not re.search(r"<(bool|str|int|path|float|list\[[a-z]+\])>|<int range>", long.stdout), long.stdout
    assert "Traceback" not in long.stderr + short.stderr


def test_help_shows_what_an_option_takes(cli):
    out = cli("sync", "--help").stdout
    assert re.search(r"--config\s+PATH", out) and re.search(r"--jobs\s+JOBS", out)
    assert re.search(r"--dry-run\s+Print the plan", out)  # a flag takes nothing
