"""The one place that runs git and knows its output formats.

Every git call in ddl-cascade goes through this module. Two kinds of call:
- one-shot commands (`run`): rev-list, fetch, push, update-ref... Transport always goes through the `git` command so
  the user's credential helpers, SSH agent and GIT_ASKPASS work as they do everywhere else;
- long-lived object readers (`ObjectReader`): one `git cat-file --batch` process answers many questions, so hot paths
  never start a process per commit.
Errors carry git's own message, with credentials redacted.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from ddl_cascade.redact import redact

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

# Git must never stop to ask a question: no editor, no pager, no terminal prompt. Locale is fixed so that messages we
# parse do not change language.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
    "LANGUAGE": "C",
}


class GitError(Exception):
    """A git command failed; the message is git's own stderr, redacted."""

    def __init__(self, args: Iterable[str], returncode: int, stderr: str) -> None:
        self.git_args = [redact(a) for a in args]
        self.returncode = returncode
        self.stderr = redact(stderr.strip())
        super().__init__(self.stderr or f"git {' '.join(self.git_args)} exited with {returncode}")


# git's words when a lock file is in the way: "Unable to create '<path>.lock': File exists."
_LOCK_EXISTS = re.compile(r"Unable to create '(?P<lock>[^']+\.lock)': File exists")
_LOCKED_REF = re.compile(r"cannot lock ref '(?P<ref>[^']+)'")


class LockFileExists(GitError):
    """git found a `.lock` file in its way: another git is running, or one crashed and left it (then remove it)."""

    def __init__(self, args: Iterable[str], returncode: int, stderr: str, lock: str, ref: str | None) -> None:
        super().__init__(args, returncode, stderr)
        self.lock = lock
        self.ref = ref
        what = f"cannot update {ref}" if ref else "git cannot proceed"
        self.args = (f"{what}: the lock file {lock} exists; if no other git process is running in this repository, "
                     f"remove that stale lock file and run again.",)

    def __str__(self) -> str:
        return self.args[0]


def _error(args: list[str], returncode: int, stderr: bytes) -> GitError:
    text = stderr.decode("utf-8", "replace")
    lock = _LOCK_EXISTS.search(text)
    if lock:
        ref = _LOCKED_REF.search(text)
        return LockFileExists(args, returncode, text, redact(lock["lock"]), ref["ref"] if ref else None)
    return GitError(args, returncode, text)


# Set by git for hooks (a pre-commit hook runs with GIT_DIR and GIT_INDEX_FILE of the repository being committed to):
# inherited, they would redirect every call here to that repository, whatever `cwd` says.
_REPO_LOCATING = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
)


def environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git call: the user's (credentials, SSH agent, askpass), minus inherited repository
    pointers, plus settings that keep git from ever waiting on a person; `extra` last."""
    env = {k: v for k, v in os.environ.items() if k not in _REPO_LOCATING}
    env.update(_BASE_ENV)
    if extra:
        env.update(extra)
    return env


def run(
    args: list[str],
    cwd: Path | str,
    *,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> bytes:
    """Run `git <args>` in `cwd` and return stdout; raise GitError on a non-zero exit when `check`."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ(env),
    )
    if check and proc.returncode != 0:
        raise _error(args, proc.returncode, proc.stderr)
    return proc.stdout


def run_result(args: list[str], cwd: Path | str, *, env: Mapping[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    """Run `git <args>` and return exit code, stdout and stderr (bytes, not redacted) without raising.

    For commands whose stdout matters even when they fail, e.g. `git push --porcelain` reports a rejected ref there.
    """
    return subprocess.run(["git", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ(env))


def run_text(args: list[str], cwd: Path | str, **kwargs) -> str:
    return run(args, cwd, **kwargs).decode("utf-8", "surrogateescape").strip()


def toplevel(path: Path) -> Path | None:
    """The root of the work tree holding `path`, or None outside a repository."""
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, env=environ()
    )
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode("utf-8", "surrogateescape").strip())


_common_dirs: dict[Path, Path] = {}


def common_dir(repo: Path) -> Path | None:
    """The absolute git directory shared by all of `repo`'s worktrees, or None outside a repository.

    Remembered once found: several modules ask for it in one run (the lock, the cache of children). A "no" is not
    remembered, since the folder may become a repository later in the same process.
    """
    key = Path(repo).resolve()
    if key not in _common_dirs:
        out = run_text(["rev-parse", "--path-format=absolute", "--git-common-dir"], key, check=False)
        if not out:
            return None
        _common_dirs[key] = Path(out)
    return _common_dirs[key]


def rev_parse(repo: Path, rev: str) -> str | None:
    """The object id `rev` names, or None when it names nothing."""
    proc = run_result(["rev-parse", "--verify", "--quiet", "--end-of-options", rev], repo)
    text = proc.stdout.decode().strip()
    # A range (`main..main`) prints several lines and exits 1: it names no single object.
    return text if proc.returncode == 0 and text and "\n" not in text else None


def update_ref(repo: Path, ref: str, new: str, old: str | None = None, message: str = "ddl-cascade") -> None:
    """Move `ref` to `new`; with `old`, only if it still points there (an empty `old` string: only if absent)."""
    args = ["update-ref", "-m", message, ref, new]
    if old is not None:
        args.append(old)
    run(args, repo)


class ObjectReader:
    """A long-lived `git cat-file --batch` process: read many objects for the cost of one process.

    Use as a context manager. `read` is one round trip; `read_many` pipelines a whole list of requests (a writer
    thread feeds git while the caller consumes answers), which is what hot paths should use.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environ({"GIT_NO_LAZY_FETCH": "1"}),
        )

    def __enter__(self) -> "ObjectReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()

    def _answer(self) -> tuple[str, str, bytes] | None:
        out = self._proc.stdout
        assert out is not None
        header = out.readline().decode("utf-8", "surrogateescape").rstrip("\n")
        parts = header.split(" ")
        if len(parts) != 3:  # "<request> missing" / "ambiguous"
            return None
        oid, kind, size = parts
        data = out.read(int(size))
        out.read(1)  # the newline after the contents
        return oid, kind, data

    def read(self, rev: str) -> tuple[str, str, bytes] | None:
        """(oid, type, raw contents) of the object `rev` names, or None if it does not exist."""
        stdin = self._proc.stdin
        assert stdin is not None
        stdin.write(rev.encode("utf-8", "surrogateescape") + b"\n")
        stdin.flush()
        return self._answer()

    def read_many(self, revs: list[str]) -> Iterator[tuple[str, str, bytes] | None]:
        """Answers for `revs`, in order, pipelined."""
        import threading

        stdin = self._proc.stdin
        assert stdin is not None
        payload = b"".join(r.encode("utf-8", "surrogateescape") + b"\n" for r in revs)

        def feed() -> None:
            stdin.write(payload)
            stdin.flush()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        for _ in revs:
            yield self._answer()
        writer.join()


def parse_tree(data: bytes) -> Iterator[tuple[str, bytes, str]]:
    """(mode, name, hex oid) for each entry of a raw tree object."""
    i, n = 0, len(data)
    while i < n:
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        yield data[i:space].decode(), data[space + 1 : nul], data[nul + 1 : nul + 21].hex()
        i = nul + 21


# ---------------------------------------------------------------------------------------------------------------------
# Writing objects without a process per object (used by sync to build subtree-shaped commits in bulk).
# These produce exactly the bytes `git mktree` / `git commit-tree` would, and store them as loose objects, the format
# every git version reads. Only SHA-1 repositories are supported.


def object_id(kind: str, body: bytes) -> str:
    """The id git gives an object of `kind` ("blob", "tree", "commit") with contents `body`."""
    import hashlib

    return hashlib.sha1(f"{kind} {len(body)}\0".encode() + body).hexdigest()


def _tree_sort_key(entry: tuple[str, bytes, str]) -> bytes:
    mode, name, _ = entry
    # git orders a directory as if its name ended in "/".
    return name + b"/" if mode in ("40000", "040000") else name


def tree_bytes(entries: Iterable[tuple[str, bytes, str]]) -> bytes:
    """A raw tree object from (mode, name, hex oid) entries, in git's canonical order (the inverse of parse_tree)."""
    out = bytearray()
    for mode, name, oid in sorted(entries, key=_tree_sort_key):
        out += mode.lstrip("0").encode() if mode.startswith("0") else mode.encode()
        out += b" " + name + b"\0" + bytes.fromhex(oid)
    return bytes(out)


def commit_bytes(tree: str, parents: Iterable[str], author: str, committer: str, message: str) -> bytes:
    """A raw commit object. `author`/`committer` are "Name <email> <epoch> <+hhmm>"; `message` ends with a newline."""
    lines = [f"tree {tree}"] + [f"parent {p}" for p in parents] + [f"author {author}", f"committer {committer}"]
    if not message.endswith("\n"):
        message += "\n"
    return ("\n".join(lines) + "\n\n" + message).encode("utf-8")


def write_objects(repo: Path, objects: Iterable[tuple[str, bytes]]) -> list[str]:
    """Store (kind, body) objects as loose objects in the bare repository `repo`; returns their ids."""
    return write_loose(Path(repo) / "objects", objects)


# ---------------------------------------------------------------------------------------------------------------------
# Bulk helpers for the split engine (issue 2): streaming a command's output, object lookups without contents, and
# writing many objects as one pack.


def popen(args: list[str], cwd: Path | str, *, stdin: bool = False) -> subprocess.Popen:
    """Start `git <args>` with stdout piped (and stdin when asked), so two git commands can run at the same time.

    The caller reads `proc.stdout` and then calls `finish(proc, args)`.
    """
    return subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ({"GIT_NO_LAZY_FETCH": "1"}),
    )


def finish(proc: subprocess.Popen, args: list[str], input: bytes | None = None) -> bytes:
    """Feed `input`, collect stdout, and raise GitError if the command started by `popen` failed."""
    out, err = proc.communicate(input)
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, err.decode("utf-8", "replace"))
    return out


class ObjectInfo:
    """A long-lived `git cat-file --batch-check`: the id and type a rev names, without reading contents.

    `lookup_many` answers a whole list in one buffered round trip; `lookup` answers one at a time, for questions
    that only arise while walking.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._proc: subprocess.Popen | None = None

    def lookup_many(self, revs: list[str]) -> list[tuple[str, str] | None]:
        """(oid, type) or None for each of `revs`, in order; one process, output buffered."""
        if not revs:
            return []
        if len(revs) <= 64:  # a few: ask the long-lived process, pipelined, instead of starting another
            return self._ask(revs)
        payload = b"".join(r.encode("utf-8", "surrogateescape") + b"\n" for r in revs)
        out = run(["cat-file", "--batch-check=%(objectname) %(objecttype)", "--buffer"], self.repo, input=payload,
                  env={"GIT_NO_LAZY_FETCH": "1"})
        answers: list[tuple[str, str] | None] = []
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            parts = line.split(" ")
            answers.append((parts[0], parts[1]) if len(parts) == 2 and parts[1] != "missing" else None)
        return answers

    def lookup(self, rev: str) -> tuple[str, str] | None:
        return self._ask([rev])[0]

    def _ask(self, revs: list[str]) -> list[tuple[str, str] | None]:
        if self._proc is None:
            self._proc = popen(["cat-file", "--batch-check=%(objectname) %(objecttype)"], self.repo, stdin=True)
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"".join(r.encode("utf-8", "surrogateescape") + b"\n" for r in revs))
        proc.stdin.flush()
        answers: list[tuple[str, str] | None] = []
        for _ in revs:
            parts = proc.stdout.readline().decode("utf-8", "surrogateescape").rstrip("\n").split(" ")
            answers.append((parts[0], parts[1]) if len(parts) == 2 and parts[1] != "missing" else None)
        return answers

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()
        self._proc = None


def write_pack(repo: Path, objects: list[tuple[str, bytes]]) -> None:
    """Store (kind, body) objects as one pack, indexed by one `git index-pack --stdin`.

    Writing thousands of loose files costs a file system round trip each; a pack is one stream.
    """
    import hashlib
    import struct
    import zlib

    types = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}
    out = [b"PACK", struct.pack(">II", 2, len(objects))]
    for kind, body in objects:
        size = len(body)
        byte = (types[kind] << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte = size & 0x7F
            size >>= 7
        header.append(byte)
        out.append(bytes(header))
        # Stored, not deflated: five times cheaper to write, and the next `git gc` compresses the pack anyway.
        out.append(zlib.compress(body, 0))
    data = b"".join(out)
    run(["index-pack", "--stdin"], repo, input=data + hashlib.sha1(data).digest())


def write_loose(objects_dir: Path, objects: Iterable[tuple[str, bytes]]) -> list[str]:
    """Store (kind, body) objects as loose files under `objects_dir` (`git rev-parse --git-path objects`).

    Returns their ids. An object already present is left alone. For a handful of objects this is cheaper than
    starting `index-pack`. Each file is written under a temporary name and renamed, as git does, so a reader never
    sees half an object.
    """
    import hashlib
    import tempfile
    import zlib

    ids = []
    for kind, body in objects:
        raw = f"{kind} {len(body)}\0".encode() + body
        oid = hashlib.sha1(raw).hexdigest()
        ids.append(oid)
        target = Path(objects_dir) / oid[:2] / oid[2:]
        if target.exists():
            continue
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="tmp_obj_")
        with os.fdopen(fd, "wb") as fh:
            fh.write(zlib.compress(raw, 1))
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    return ids
