"""The one error path: typed errors, a table that maps them to exit codes, and `error_handler()`.

Both entry points (the publish fast path in `entry.py` and the Typer app in `cli/__init__.py`) run inside
`error_handler()`. An expected failure becomes one sentence on stderr, `ddl-cascade: ...` with credentials redacted,
and the exit code its type maps to in `EXIT_CODES`:

    2  bad input the user can fix: a usage, config or repository error (`CascadeError`, `ConfigError`, a command
       line Typer rejects, a stale git lock file)
    1  the work failed: a git command, Flyway or the database refused it (`WorkFailed`, `git.GitError`, ...)
  130  interrupted (Ctrl-C)

Anything else that escapes is a bug and keeps its traceback: that is the bug report.

This module is imported on publish's fast path, so it imports nothing heavy: the table names the types of other
modules by dotted name and looks them up only in modules already imported (an exception of a type whose module was
never imported cannot have been raised).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

PROG = "ddl-cascade"


class CascadeError(Exception):
    """Bad input the user can fix; the message is one sentence naming the file, key or child. Exit 2."""


class ConfigError(CascadeError):
    """cascade.toml is missing or wrong."""


class UsageError(CascadeError):
    """The command line is wrong (an unknown option, a missing value); the message says where to find help."""


class WorkFailed(Exception):
    """The input was fine but the work failed (git, Flyway or the database refused it). Exit 1."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; the message is the one sentence that says what was done and what was not. Exit 130."""


# Most specific first: the first type the exception is an instance of decides. Dotted names are resolved lazily
# (see the module docstring); a test checks that each one still names a class.
EXIT_CODES: tuple[tuple[str, int], ...] = (
    ("ddl_cascade.errors.CascadeError", 2),
    ("ddl_cascade.git.LockFileExists", 2),  # a stale .lock file: the user has to remove it
    ("ddl_cascade.errors.WorkFailed", 1),
    ("ddl_cascade.git.GitError", 1),
    ("ddl_cascade.flyway.FlywayError", 1),
    ("psycopg.OperationalError", 2),  # cannot connect: URL, credentials or server (as db.target.connect says)
    ("psycopg.Error", 1),  # the database refused a statement
)


def _resolve(dotted: str) -> type | None:
    module_name, _, name = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    return getattr(module, name, None) if module is not None else None


def exit_code(exc: BaseException) -> int | None:
    """The exit code `exc` maps to, or None when it is not an expected failure (a bug)."""
    for dotted, code in EXIT_CODES:
        kind = _resolve(dotted)
        if kind is not None and isinstance(exc, kind):
            return code
    return None


def _git_message(exc) -> str:
    """`git <subcommand> failed: <git's first telling line>` (hints and blank lines skipped)."""
    from ddl_cascade.git import telling_line  # imported already: the error came from there

    line = telling_line(str(exc)) or f"exit code {getattr(exc, 'returncode', '?')}"
    for prefix in ("fatal: ", "error: "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    args = list(getattr(exc, "git_args", []))
    sub = next((a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in ("-c", "-C"))),
               None)
    return f"git {sub} failed: {line}" if sub else f"git failed: {line}"


def _database_message(exc) -> str:
    primary = getattr(getattr(exc, "diag", None), "message_primary", None)
    text = primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"database error: {text}"


def message(exc: BaseException) -> str:
    """The one line printed for `exc`, without the program name; credentials redacted."""
    from ddl_cascade.redact import redact

    if not isinstance(exc, CascadeError) and _is(exc, "ddl_cascade.git.GitError") \
            and not _is(exc, "ddl_cascade.git.LockFileExists"):
        text = _git_message(exc)
    elif _is(exc, "psycopg.Error"):
        text = _database_message(exc)
    else:
        text = str(exc).strip() or type(exc).__name__
    return " ".join(redact(text).split())  # one line


def _is(exc: BaseException, dotted: str) -> bool:
    kind = _resolve(dotted)
    return kind is not None and isinstance(exc, kind)


def say(text: str) -> None:
    """Print `ddl-cascade: <text>` on stderr, credentials redacted."""
    from ddl_cascade.redact import redact

    print(f"{PROG}: {redact(text)}", file=sys.stderr)


def _terminated(signum, frame) -> None:
    """SIGTERM (a CI job cancelled, `kill`): stop exactly as Ctrl-C does, so running git transports are killed too
    (they run in sessions of their own, which a signal to ddl-cascade's process group does not reach)."""
    raise KeyboardInterrupt("terminated.")


@contextmanager
def error_handler() -> Iterator[None]:
    """Run the block; turn an expected failure into one sentence on stderr and its exit code (see EXIT_CODES).
    SIGTERM is handled as Ctrl-C (exit 130)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    except KeyboardInterrupt as exc:
        say(str(exc).strip() or "interrupted.")
        # CPython marks a KeyboardInterrupt that escapes code run by exec(str) (dataclasses, namedtuple and typing
        # build methods that way) as unhandled, and then kills the process with SIGINT at exit whatever we catch
        # here. Any exec() clears that mark, so the exit code stays 130.
        exec("")
        sys.exit(130)
    except BrokenPipeError:  # `ddl-cascade status | head`: the reader left; say nothing more, anywhere
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(1)
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise  # a bug: keep the traceback
        say(message(exc))
        sys.exit(code)
