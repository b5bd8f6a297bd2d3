"""The parent lock: two ddl-cascade runs against the same parent never interleave.

`publish`, `sync`, `status` and `reset` all write under the parent's git directory (the delivery branch, the cache of
children), and sync/reset push to children; two runs at once would race each other. The lock is a file lock at
`<parent git dir>/ddl-cascade/lock`. A second run says at once on stderr that it is waiting, waits up to `timeout`
seconds (default 60, or the environment variable DDL_CASCADE_LOCK_TIMEOUT) and then fails with one clear sentence.

The lock is re-entrant inside one process, so `full` can hold it around publish and sync even if publish takes it
too. The operating system releases it when a process dies, so a killed run never leaves it stuck.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ddl_cascade.errors import CascadeError, say

DEFAULT_TIMEOUT = 60.0

_held: dict[Path, int] = {}
_guard = threading.Lock()


class LockTimeout(CascadeError):
    """Another ddl-cascade run holds the parent lock."""


def state_dir(config) -> Path:
    """`<parent git dir>/ddl-cascade`: where the lock and the cache of children live."""
    from ddl_cascade import git

    common = git.common_dir(config.root)
    if common is None:
        raise CascadeError(f"{config.root} (the parent, where {config.file.name} lives) is not a git repository.")
    return common / "ddl-cascade"


def lock_path(config) -> Path:
    return state_dir(config) / "lock"


def _timeout(value: float | None) -> float:
    if value is not None:
        return value
    env = os.environ.get("DDL_CASCADE_LOCK_TIMEOUT")
    if env:
        try:
            return float(env)
        except ValueError:
            raise CascadeError(f"DDL_CASCADE_LOCK_TIMEOUT must be a number of seconds, not {env!r}.") from None
    return DEFAULT_TIMEOUT


def holds(config) -> bool:
    """Whether this process holds the parent lock now (then nothing else writes under the parent's git directory)."""
    with _guard:
        return bool(_held.get(lock_path(config)))


@contextmanager
def parent_lock(config, timeout: float | None = None) -> Iterator[Path]:
    """Hold the parent lock for the duration of the block; raise LockTimeout after waiting `timeout` seconds."""
    import filelock

    path = lock_path(config)
    with _guard:
        if _held.get(path):
            _held[path] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                _held[path] -= 1
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    wait = _timeout(timeout)
    lock = filelock.FileLock(str(path), is_singleton=False)
    try:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if wait <= 0:
                raise
            say(f"waiting for another run on this parent (lock {path}) …")
            lock.acquire(timeout=wait)
    except filelock.Timeout:
        raise LockTimeout(
            f"another ddl-cascade run holds the lock on this parent ({path}); waited {wait:g} s, try again later."
        ) from None
    with _guard:
        _held[path] = 1
    try:
        yield path
    finally:
        with _guard:
            _held.pop(path, None)
        lock.release()
