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
import signal
import subprocess
import threading
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from ddl_cascade.redact import redact

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
# The deadline of every call that talks to a remote, in seconds, unless `[sync] timeout` says otherwise (`transport`).
DEFAULT_TIMEOUT = 120.0

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


def folder_at(repo: Path, commit: str, path: str) -> str | None:
    """The tree id of folder `path` in `commit`, or None when the commit has no such folder (absent, or a file)."""
    oid = rev_parse(repo, f"{commit}:{path}")
    if oid is None:
        return None
    kind = run_text(["cat-file", "-t", oid], repo, check=False)
    return oid if kind == "tree" else None


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


# ---------------------------------------------------------------------------------------------------------------------
# --- Questions the cache of children, the delivery history and the deliveries ask ---


# Lines that are never the reason: git's advice for a person at a terminal (`hint:` lines such as "Updates were
# rejected because the remote contains work ..." or "git pull ...", wrong for this tool, which plans its own retry),
# warnings (git's, and ssh's "Warning: Permanently added ..."), and the advice after a failed connection.
_NOT_A_REASON = ("hint:", "warning:", "Warning:", "Please make sure you have the correct access rights",
                 "and the repository exists.")
# git's closing words when the transport (ssh, a remote helper) or the remote itself said why on the lines before.
_GENERIC = re.compile(r"(fatal: (could not read from remote repository|the remote end hung up unexpectedly)"
                      r"|error: failed to push some refs)", re.IGNORECASE)


def _says_something(line: str) -> bool:
    """A line worth reading: not advice, not a `remote:` banner's blank or ==== decoration."""
    body = line[len("remote:"):] if line.startswith("remote:") else line
    return not line.startswith(_NOT_A_REASON) and any(ch.isalnum() for ch in body) \
        and not re.fullmatch(r"To \S+", line)  # push's "To <url>" heading


def telling_line(text: str) -> str:
    """git's most telling line of an error output, never a `hint:`: the first `fatal:`/`error:` line, unless that
    is git's generic "Could not read from remote repository." (or the like) after the transport or the remote said
    why, e.g. ssh's "Permission denied (publickey)." or "Could not resolve hostname ...": then those lines (the last
    three at most, joined). Without a `fatal:`/`error:` line, the first line that says something."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if _says_something(line)]
    for i, line in enumerate(lines):
        if line.startswith(("fatal:", "error:")):
            before = lines[:i]
            return " ".join(before[-3:]) if before and _GENERIC.match(line) else line
    return lines[0] if lines else ""


def _remote_says(text: str) -> str:
    """What the remote printed (its hooks' `remote:` lines), joined on one line, without the `remote:` prefix."""
    said = [line.strip()[len("remote:"):].strip() for line in text.splitlines() if line.strip().startswith("remote:")]
    return " ".join(line for line in said if _says_something(line))


def commit_graph(repo: Path, tip: str) -> list[tuple[str, str, list[str]]]:
    """(commit, tree, parents) for every commit reachable from `tip`, newest first (`git log` order)."""
    rows = []
    for line in run_text(["log", "--format=%H %T %P", tip, "--"], repo).splitlines():
        parts = line.split()
        rows.append((parts[0], parts[1], parts[2:]))
    return rows


def short_ids(repo: Path, commits: list[str]) -> list[str]:
    """The abbreviations `git rev-parse --short` would print, for many commits with one process."""
    return run_text(["log", "--no-walk=unsorted", "--format=%h", *commits, "--"], repo).split()


def subject_lines(repo: Path, revisions: str, prefix: str = "") -> str:
    """`<prefix>%h %s` per commit of `revisions` (a range such as `a..b`), one per line, as git-subtree writes them
    into a squash message; bytes git cannot decode are kept (surrogateescape)."""
    out = run(["log", "--no-show-signature", f"--pretty=tformat:{prefix}%h %s", revisions, "--"], repo)
    return out.decode("utf-8", "surrogateescape")


def messages_matching(repo: Path, tip: str, pattern: str, limit: int) -> Iterator[tuple[str, str]]:
    """(commit, full message) of the newest `limit` commits from `tip` whose message matches the regex `pattern`
    (`git log --grep`, newest first)."""
    out = run(["log", f"--grep={pattern}", "--no-show-signature", "-n", str(limit),
               "--pretty=format:START %H%n%B%nEND%n", tip, "--"], repo)
    for block in out.decode("utf-8", "surrogateescape").split("START ")[1:]:
        commit, _, text = block.partition("\n")
        yield commit.strip(), text


def update_refs(repo: Path, refs: Mapping[str, str]) -> None:
    """Move many refs at once (one `git update-ref --stdin` transaction)."""
    if refs:
        script = "".join(f"update {ref} {oid}\n" for ref, oid in refs.items())
        run(["update-ref", "--stdin"], repo, input=script.encode())


def remote_branch_tip(repo: Path, url: str, branch: str, env: Mapping[str, str] | None = None,
                      timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """The tip of `branch` at `url` as the remote reports it now (`git ls-remote`); None when it has no such branch.
    Under a deadline of `timeout` seconds (see `transport`)."""
    out = transport(["ls-remote", "--end-of-options", url, f"refs/heads/{branch}"], repo, url, env=env,
                    timeout=timeout).stdout.decode("utf-8", "surrogateescape").strip()
    for line in out.splitlines():
        oid, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return oid
    return None


class NoSuchBranch(GitError):
    """The remote was reached but has no such branch."""


# Git must not run housekeeping in the middle of a parallel fetch, and must not touch the user's FETCH_HEAD.
# fetch.unpackLimit=1 keeps every fetch as one pack (index-pack): about three times cheaper than exploding it into loose
# objects (unpack-objects); the cache of children then indexes or merges the packs itself.
_QUIET_FETCH = ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "fetch.unpackLimit=1",
                "-c", "advice.fetchShowForcedUpdates=false", "fetch", "--quiet", "--no-tags",
                "--no-write-fetch-head", "--no-auto-gc", "--no-recurse-submodules", "--no-show-forced-updates"]


def fetch_branch(git_dir: Path, url: str, branch: str, into: str, negotiation_tips: Iterable[str],
                 env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Fetch `branch` of `url` into the ref `into` of `git_dir`, offering only `negotiation_tips` (and their history)
    as "have"s, none when there are none, with no housekeeping and no FETCH_HEAD, under a deadline (see
    `transport`). Raises NoSuchBranch when the remote lacks the branch, GitTimeout when it does not answer in time,
    GitError otherwise."""
    negotiation = [f"--negotiation-tip={t}" for t in negotiation_tips if t]
    # Nothing to offer: offer nothing (git would otherwise offer every ref it can see, the parent's through the
    # alternates, which the child lacks, and pay a round trip of negotiation to learn that).
    noop = [] if negotiation else ["-c", "fetch.negotiationAlgorithm=noop"]
    try:
        transport(["--git-dir", str(git_dir), *noop, *_QUIET_FETCH, *negotiation, "--end-of-options", url,
                   f"+refs/heads/{branch}:{into}"], git_dir, url, env=env, timeout=timeout, check=True)
    except GitError as exc:
        if "couldn't find remote ref" in exc.stderr:
            raise NoSuchBranch(exc.git_args, exc.returncode, exc.stderr) from None
        raise


def write_multi_pack_index(repo: Path) -> None:
    run(["multi-pack-index", "write", "--no-progress"], repo)


def repack_local(repo: Path) -> None:
    """Merge the repository's own packs into one, dropping nothing (--keep-unreachable: objects written by a run
    still going are safe) and leaving alternates' objects where they are (-l)."""
    run(["-c", "gc.auto=0", "repack", "-a", "-d", "-l", "-q", "--keep-unreachable", "--write-midx"], repo)


class PushOutcome:
    """What `git push` did to a compare-and-swap update.

    ok: every ref was updated (or already there: `up_to_date`); otherwise `error` says why: the ref the remote
    refused and its reason (a lease that no longer holds, a hook, a protected branch), or git's telling line.
    """

    __slots__ = ("ok", "up_to_date", "error")

    def __init__(self, ok: bool, up_to_date: bool = False, error: str | None = None) -> None:
        self.ok, self.up_to_date, self.error = ok, up_to_date, error

    def __repr__(self) -> str:
        return f"PushOutcome(ok={self.ok}, up_to_date={self.up_to_date}, error={self.error!r})"


def push_with_lease(git_dir: Path, url: str, updates: list[tuple[str, str, str | None]],
                    env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> PushOutcome:
    """Push (new commit, ref, expected old tip or None for "must not exist yet") as compare-and-swap updates
    (`--force-with-lease=<ref>:<expected>`), without running local hooks, under a deadline (see `transport`: a
    remote that does not answer in time raises GitTimeout)."""
    args = ["--git-dir", str(git_dir), "push", "--porcelain", "--no-verify"]
    args += [f"--force-with-lease={ref}:{old or ''}" for _, ref, old in updates]
    args += ["--end-of-options", url] + [f"{new}:{ref}" for new, ref, _ in updates]
    proc = transport(args, git_dir, url, env=env, timeout=timeout)
    # --porcelain: "<flag>\t<from>:<to>\t<summary>" per ref; "=" up to date, "!" rejected.
    flags, rejected = [], []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            flags.append(parts[0])
            if parts[0] == "!":
                rejected.append(f"{parts[1].split(':')[-1]} {parts[2]}")
    if proc.returncode == 0:
        return PushOutcome(True, up_to_date=bool(flags) and all(f == "=" for f in flags))
    stderr = redact(proc.stderr.decode("utf-8", "replace"))
    if rejected:  # a hook or a protected branch says why on its `remote:` lines: keep its words
        remote = _remote_says(stderr)
        return PushOutcome(False, error=redact(rejected[0]) + (f": {remote}" if remote else ""))
    return PushOutcome(False, error=telling_line(stderr) or "git push failed")


class Commit:
    """A raw commit object, parsed: its tree, parents, committer time and message (bytes git cannot decode are kept
    with surrogateescape)."""

    __slots__ = ("tree", "parents", "committer_time", "message")

    def __init__(self, raw: bytes) -> None:
        headers, _, message = raw.partition(b"\n\n")
        self.tree = ""
        self.parents: list[str] = []
        self.committer_time = 0
        for line in headers.split(b"\n"):
            if line.startswith(b"tree "):
                self.tree = line[5:].decode()
            elif line.startswith(b"parent "):
                self.parents.append(line[7:].decode())
            elif line.startswith(b"committer "):
                try:
                    self.committer_time = int(line.rsplit(b" ", 2)[1])
                except (IndexError, ValueError):
                    self.committer_time = 0
        self.message = message.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------------------------------
# Transport under a deadline (issue 9): every call that talks to a remote (ls-remote, fetch, push) goes through
# `transport`. It never hangs, never outlives the run, and never shows a credential in a process's argv.

# git's own stall detection, given by environment (GIT_CONFIG_COUNT), never argv: curl gives up on an HTTP transfer
# slower than 1000 bytes/s for this long (at most the deadline); ssh gives up connecting after this long and on a
# server that stops answering its keep-alives.
_LOW_SPEED_LIMIT = 1000
_STALL = 30.0

_live: set[subprocess.Popen] = set()  # transport processes running now (each the leader of its own process group)
_live_lock = threading.Lock()
_stopped = threading.Event()


class GitTimeout(GitError):
    """A remote accepted the connection but did not answer within the deadline; git (and everything it started)
    was killed."""

    def __init__(self, args: Iterable[str], timeout: float, url: str) -> None:
        sub = next((a for a in args if a in ("ls-remote", "fetch", "push")), "git")
        super().__init__(args, -9, f"timed out after {timeout:g} s: git {sub} got no answer from {redact(url)}")


class TransportStopped(GitError):
    """The run was interrupted (Ctrl-C): this transport was killed or never started."""

    def __init__(self, args: Iterable[str]) -> None:
        super().__init__(args, -2, "interrupted")


def stop_transport() -> None:
    """Ctrl-C: kill every running transport's process group at once, and refuse new ones until `resume_transport`."""
    _stopped.set()
    with _live_lock:
        running = list(_live)
    for proc in running:
        _kill_group(proc)


def resume_transport() -> None:
    _stopped.clear()


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


_CREDENTIAL_HELPER = ('!f() { test "$1" = get && printf \'username=%s\\npassword=%s\\n\' '
                      '"$DDL_CASCADE_GIT_USERNAME" "$DDL_CASCADE_GIT_PASSWORD"; }; f')
_USERINFO = re.compile(r"^(?P<scheme>https?://)(?P<userinfo>[^@/?#]*)@", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?[^/:]{2,}:(?!//)")


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url without its user info, user name, password) of an http(s) URL that carries credentials
    (`https://user:token@host/…`, `https://token@host/…`), percent-decoded; (url, None, None) for any other."""
    from urllib.parse import unquote

    found = _USERINFO.match(url)
    if not found:
        return url, None, None
    user, _, password = found["userinfo"].partition(":")
    return found["scheme"] + url[found.end():], unquote(user), unquote(password)


def credentials_environ(user: str, password: str) -> dict[str, str]:
    """The environment that makes `transport` authenticate to an http(s) remote as `user` with `password` (a
    forge's token), through the credential helper above: never in argv, never on disk."""
    return {"DDL_CASCADE_GIT_USERNAME": user, "DDL_CASCADE_GIT_PASSWORD": password}


_user_ssh_command: list[bool] = []  # [whether core.sshCommand is configured], asked once per process


def _ssh_is_users(env: Mapping[str, str], cwd: Path | str) -> bool:
    if env.get("GIT_SSH_COMMAND") or env.get("GIT_SSH"):
        return True
    if not _user_ssh_command:
        _user_ssh_command.append(bool(run(["config", "--get", "core.sshCommand"], cwd, check=False).strip()))
    return _user_ssh_command[0]


def transport_environ(url: str, cwd: Path | str, timeout: float, extra: Mapping[str, str] | None = None,
                      ask_first: bool = False) -> tuple[str, dict[str, str]]:
    """(the URL to put in argv, the environment) for a transport call to `url`: git's low-speed limits and, for an
    ssh URL when the user set no ssh command of their own, ssh's connect timeout and keep-alives; for an http(s) URL
    that carries a credential, the URL without it and a credential helper that reads it from this environment,
    and the same credential sent with the first request (unless `ask_first`: doctor traces which helper answers)."""
    env = environ(extra)
    stall = max(1, int(min(timeout, _STALL)))
    settings = [("http.lowSpeedLimit", str(_LOW_SPEED_LIMIT)), ("http.lowSpeedTime", str(stall))]
    bare, user, password = split_credentials(url)
    if user is not None:
        env["DDL_CASCADE_GIT_USERNAME"], env["DDL_CASCADE_GIT_PASSWORD"] = user, password or ""
    has_credential = user is not None or bool(env.get("DDL_CASCADE_GIT_PASSWORD")
                                              and re.match(r"https?://", url, re.IGNORECASE))
    if has_credential:
        # Credentials in the URL, or given by the caller (a forge token: `credentials_environ`): only the
        # helper that reads them from this environment answers, so nothing is asked for and nothing is stored.
        settings += [("credential.helper", ""), ("credential.helper", _CREDENTIAL_HELPER)]
    if has_credential and not ask_first:
        # And sent with the first request, as actions/checkout does: git otherwise asks without them, takes a 401,
        # and only then asks the helper: one more round trip for every git process (ls-remote, fetch, push).
        # In the environment, as the helper's input is; curl does not send it on to another host on a redirect.
        import base64

        basic = base64.b64encode(f"{env.get('DDL_CASCADE_GIT_USERNAME', '')}:{env['DDL_CASCADE_GIT_PASSWORD']}"
                                 .encode()).decode()
        settings.append(("http.extraHeader", f"Authorization: Basic {basic}"))
    if (url.startswith(("ssh://", "git+ssh://", "ssh+git://")) or _SCP_LIKE.match(url)) and not _ssh_is_users(env, cwd):
        env["GIT_SSH_COMMAND"] = (f"ssh -o ConnectTimeout={stall} -o ServerAliveInterval={max(1, stall // 3)} "
                                  "-o ServerAliveCountMax=3")
    try:
        count = int(env.get("GIT_CONFIG_COUNT") or 0)
    except ValueError:
        count = 0
    for key, value in settings:
        env[f"GIT_CONFIG_KEY_{count}"], env[f"GIT_CONFIG_VALUE_{count}"] = key, value
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return bare, env


def transport(args: list[str], cwd: Path | str, url: str, *, env: Mapping[str, str] | None = None,
              timeout: float = DEFAULT_TIMEOUT, check: bool = False, ask_first: bool = False
              ) -> subprocess.CompletedProcess:
    """Run `git <args>` that talks to `url` (an element of `args`) and return exit code, stdout and stderr.

    - A deadline: after `timeout` seconds git's whole process group (git, its remote helper or ssh, a local
      receive-pack and its hooks) is killed and GitTimeout raised. git starts in a session of its own, so nothing it
      started can outlive the kill, and a Ctrl-C at the terminal reaches only ddl-cascade, which stops it
      (`stop_transport`).
    - No credential in argv: `url` is replaced by `transport_environ`'s URL without user info.
    With `check`, a non-zero exit raises GitError (redacted) as `run` does.
    """
    bare, full_env = transport_environ(url, cwd, timeout, env, ask_first)
    argv = [bare if a == url else a for a in args]
    if _stopped.is_set():
        raise TransportStopped(argv)
    proc = subprocess.Popen(["git", *argv], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=full_env, start_new_session=True)
    with _live_lock:
        _live.add(proc)
    try:
        if _stopped.is_set():
            _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            _drain(proc)
            raise GitTimeout(argv, timeout, bare) from None
        except BaseException:  # Ctrl-C in the thread that waits for git: git must not outlive it
            _kill_group(proc)
            _drain(proc)
            raise
    finally:
        with _live_lock:
            _live.discard(proc)
    if _stopped.is_set() and proc.returncode != 0:
        raise TransportStopped(argv)
    if proc.returncode != 0 and b"Operation too slow" in err:  # curl's low-speed limit: git gave up by itself
        raise GitTimeout(argv, min(timeout, _STALL), bare)
    if check and proc.returncode != 0:
        raise _error(argv, proc.returncode, err)
    return subprocess.CompletedProcess(["git", *argv], proc.returncode, out, err)


def _drain(proc: subprocess.Popen) -> None:
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # something escaped the group and holds the pipes: stop listening
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()


# Questions the cache of children asks about its own health (issue 9: it repairs itself).

_BROKEN_REF = re.compile(r"^warning: ignoring broken ref (\S+)$", re.MULTILINE)
# git's words when an object a repository relies on is missing or unreadable (and ddl-cascade's own, from
# cascade/state.py), as opposed to a remote that cannot be reached.
_DAMAGE = re.compile(
    r"missing from the cache of children|missing (?:blob|tree|commit|object)|bad object|bad tree object|"
    r"unable to read [0-9a-f]{7,}|corrupt|did not send all necessary objects|is not a valid object|"
    r"invalid sha1 pointer|could not parse object|reference broken|packfile \S+ cannot be accessed|"
    r"the object [0-9a-f]{7,} does not exist",
    re.IGNORECASE)


def says_objects_are_damaged(text: str) -> bool:
    """Whether an error text says that a local object or ref is missing, broken or corrupt."""
    return bool(_DAMAGE.search(text))


def refs_and_broken(repo: Path, prefix: str) -> tuple[dict[str, str], list[str]]:
    """(ref name -> object id for every readable ref under `prefix`, the names of refs git ignores as broken: an
    empty or garbled ref file)."""
    proc = run_result(["for-each-ref", "--format=%(objectname) %(refname)", prefix], repo)
    if proc.returncode != 0:
        raise _error(["for-each-ref"], proc.returncode, proc.stderr)
    out = proc.stdout.decode("utf-8", "surrogateescape")
    refs = {ref: oid for oid, ref in (line.split(" ", 1) for line in out.splitlines() if line)}
    broken = _BROKEN_REF.findall(proc.stderr.decode("utf-8", "surrogateescape"))
    return refs, [ref for ref in broken if ref.startswith(prefix)]


# --- Questions the split engine and publish ask ---
# Each function says which question it answers and returns parsed answers: no caller builds git's argv or reads its
# output. Those the split engine runs side by side start a process and return a `Started`, whose `result()` waits.


class Started:
    """A git command running in the background: `result()` waits for it and returns its parsed answer (the same
    answer however often it is asked).

    With `check`, a failure raises GitError; without, the answer is parsed from whatever git printed.
    """

    _NOT_YET = object()

    def __init__(self, args: list[str], cwd: Path | str, parse, *, check: bool = True) -> None:
        self._args, self._parse, self._check = args, parse, check
        self._proc = popen(args, cwd)
        self._answer = Started._NOT_YET

    def result(self):
        if self._answer is Started._NOT_YET:
            out = finish(self._proc, self._args) if self._check else self._proc.communicate()[0]
            self._answer = self._parse(out)
        return self._answer


class RepoFacts:
    """What the split engine needs to know about a repository before it walks."""

    def __init__(self, shallow: bool, common_dir: Path, objects_dir: Path, commit_encoding: str | None,
                 commit: str | None) -> None:
        self.shallow = shallow
        self.common_dir = common_dir
        self.objects_dir = objects_dir
        self.commit_encoding = commit_encoding  # i18n.commitEncoding as configured, None when unset
        self.commit = commit  # the commit the rev asked about names, None when it names none


def repo_facts(path: Path | str, rev: str) -> RepoFacts | None:
    """The repository at `path` and the commit `rev` names, or None outside a repository; two processes, side by
    side."""
    config = popen(["config", "--get", "i18n.commitEncoding"], path)
    out = run(["rev-parse", "--is-shallow-repository", "--path-format=absolute", "--git-common-dir",
               "--git-path", "objects", "--verify", "--quiet", f"{rev}^{{commit}}"], path, check=False)
    encoding = config.communicate()[0].decode().strip() or None
    lines = out.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 3:
        return None
    return RepoFacts(lines[0] == "true", Path(lines[1]), Path(lines[2]), encoding,
                     lines[3] if len(lines) > 3 else None)


def ls_tree_quotes(repo: Path | str, name: str) -> bool:
    """Whether `git ls-tree` prints `name` quoted: control characters, `"`, `\\`; non-ASCII unless core.quotePath
    is false (only then is the configuration asked)."""
    if any(c < " " or c in '"\\\x7f' for c in name):
        return True
    if name.isascii():
        return False
    out = run(["config", "--type=bool", "--get", "core.quotePath"], repo, check=False).decode().strip()
    return out != "false"


def _walk_args(tip: str, hide: Iterable[str]) -> list[str]:
    return ["rev-list", "--topo-order", "--reverse", "--parents", "--ignore-missing", tip,
            *[f"^{h}" for h in hide], "--"]


def _parse_walk(out: bytes) -> list[tuple[str, list[str]]]:
    walk = []
    for line in out.decode("ascii").splitlines():
        revs = line.split(" ")
        walk.append((revs[0], revs[1:]))
    return walk


def start_topo_walk(repo: Path | str, tip: str, hide: Iterable[str] = ()) -> Started:
    """The commits of `tip` without the history of `hide`, parents first (`rev-list --topo-order --reverse`):
    `result()` is a list of (commit, its parents). Revisions that name no object are ignored."""
    return Started(_walk_args(tip, hide), repo, _parse_walk)


def topo_walk_with_path(repo: Path | str, tip: str, path: str
                        ) -> tuple[list[tuple[str, list[str]]], dict[str, tuple[str, str] | None]]:
    """The walk of `start_topo_walk(repo, tip)`, and `path` looked up in each commit's root tree while rev-list is
    still producing them: {commit: (oid, type) of `<commit>:<path>`, or None when absent}.

    rev-list prints each root tree (`--format=%T`), so cat-file asks `<tree>:<path>` and never parses the commit a
    second time.
    """
    import threading

    args = _walk_args(tip, [])
    args.insert(1, "--format=%T")
    walk = popen(args, repo)
    check_args = ["cat-file", "--batch-check=%(objectname) %(objecttype)", "--buffer"]
    check = popen(check_args, repo, stdin=True)
    assert walk.stdout is not None and check.stdin is not None and check.stdout is not None
    lines: list[bytes] = []
    suffix = b":" + path.encode("utf-8", "surrogateescape") + b"\n"

    def feed() -> None:
        try:
            source = walk.stdout
            for header in source:  # type: ignore[union-attr]
                tree = source.readline()  # type: ignore[union-attr]
                lines.append(header[7:])  # "commit <id> <parents>"
                check.stdin.write(tree[:40] + suffix)  # type: ignore[union-attr]
        finally:
            check.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = check.stdout.read()
    feeder.join()
    check.stdin = None  # closed by the feeder; communicate() must not flush it
    finish(check, check_args)
    finish(walk, args)
    answers: dict[str, tuple[str, str] | None] = {}
    for line, answer in zip(lines, out.decode("utf-8", "surrogateescape").split("\n")):
        parts = answer.split(" ")
        answers[line[:40].decode()] = (parts[0], parts[1]) if len(parts) == 2 and parts[1] != "missing" else None
    return _parse_walk(b"".join(lines)), answers


def start_subtree_trailer_log(repo: Path | str, prefix: str, tip: str, hide: Iterable[str] = ()) -> Started:
    """The commits of `tip` (without the history of `hide`) whose message has `git-subtree-dir: <prefix>`, as the
    text `git subtree`'s find_existing_splits reads: `START <id>`, subject, blank line, body, `END`, per commit.

    `result()` is that text (bytes): the script reads it with the shell's `read`, which the caller reproduces.
    """
    args = ["log", f"--grep=^git-subtree-dir: {prefix}/*$", "--no-show-signature",
            "--pretty=format:START %H%n%s%n%n%b%nEND%n", tip, *[f"^{h}" for h in hide], "--"]
    return Started(args, repo, lambda out: out)


def has_commits_outside(repo: Path | str, revs: list[str], base: str) -> bool:
    """Whether some commit reachable from `revs` is not reachable from `base`; GitError when one of them is gone."""
    return bool(run(["rev-list", "--max-count=1", *revs, f"^{base}", "--"], repo).strip())


class Objects(ObjectInfo):
    """ObjectInfo asked in the words of its callers: trees, paths and parents instead of revision expressions."""

    def commit(self, rev: str) -> str | None:
        """The commit `rev` names (tags peeled), or None."""
        found = self.lookup(rev + "^{commit}")
        return found[0] if found else None

    def first_parent(self, rev: str) -> str | None:
        """The first parent of the commit `rev`, or None for a root or an unknown rev."""
        found = self.lookup(rev + "^")
        return found[0] if found else None

    def path_in(self, rev: str, path: str) -> tuple[str, str] | None:
        """(oid, type) of `path` in the commit `rev`, or None when absent."""
        return self.lookup(f"{rev}:{path}")

    def paths_in(self, revs: list[str], path: str) -> list[tuple[str, str] | None]:
        """`path_in` for each of `revs`, in one round trip."""
        return self.lookup_many([f"{r}:{path}" for r in revs])

    def tree_of(self, rev: str) -> str | None:
        """The root tree of the commit `rev`, or None when it is missing."""
        found = self.lookup(rev + "^{tree}")
        return found[0] if found else None

    def trees_of(self, revs: list[str]) -> list[str | None]:
        """`tree_of` for each of `revs`, in one round trip."""
        return [a[0] if a else None for a in self.lookup_many([f"{r}^{{tree}}" for r in revs])]

    def present(self, oids: list[str]) -> list[bool]:
        """Whether each object of `oids` is in the repository."""
        return [a is not None for a in self.lookup_many(oids)]


def _header_lines(data: bytes, key: bytes) -> Iterator[int]:
    i = 0
    end = data.find(b"\n\n")
    while i < end:
        if data.startswith(key, i):
            yield i
        i = data.index(b"\n", i) + 1


class CommitReader(ObjectReader):
    """ObjectReader for the graph: the parents a commit object records."""

    def parents(self, rev: str) -> list[str] | None:
        """The parents of the commit `rev`, or None when it is missing or not a commit."""
        found = self.read(rev)
        if found is None or found[1] != "commit":
            return None
        data = found[2]
        return [data[i + 7:i + 47].decode() for i in _header_lines(data, b"parent ")]


class CopyTexts:
    """The `%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B` text (what `git subtree`'s copy_commit reads) of each of `revs`, from
    one `git log --no-walk --stdin`.

    Read as it is produced, in the order asked, so git formats later commits while the caller uses earlier ones.
    """

    _ARGS = ["log", "--no-walk=unsorted", "--stdin", "-z", "--no-show-signature",
             "--pretty=format:%H%n%an%n%ae%n%aD%n%cn%n%ce%n%cD%n%B"]

    def __init__(self, repo: Path | str, revs: list[str]) -> None:
        import threading

        self.ready: dict[str, bytes] = {}
        self._pending = b""
        self._proc = popen(self._ARGS, repo, stdin=True) if revs else None
        if self._proc is not None:
            payload = "".join(r + "\n" for r in revs).encode()
            stdin = self._proc.stdin
            assert stdin is not None

            def feed() -> None:
                try:
                    stdin.write(payload)
                    stdin.close()
                except OSError:  # git log was stopped early (close()); nothing left to say to it
                    pass

            self._feeder = threading.Thread(target=feed, daemon=True)
            self._feeder.start()

    def get(self, rev: str) -> bytes | None:
        """The text of `rev`, once (it is forgotten when given); None when git log did not show it."""
        while rev not in self.ready:
            if not self._more():
                return None
        return self.ready.pop(rev)

    def _more(self) -> bool:
        proc = self._proc
        if proc is None:
            return False
        assert proc.stdout is not None
        chunk = proc.stdout.read1(1 << 20)
        if not chunk:
            self._feeder.join()
            proc.stdin = None
            finish(proc, self._ARGS)
            self._proc = None
            if self._pending:
                self._take(self._pending)
                self._pending = b""
            return bool(self.ready)
        entries = (self._pending + chunk).split(b"\0")
        self._pending = entries.pop()  # possibly incomplete: `-z` separates entries, the last has no NUL
        for entry in entries:
            self._take(entry)
        return True

    def _take(self, entry: bytes) -> None:
        if entry:
            self.ready[entry[:40].decode()] = entry[41:]

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

def start_refs(repo: Path | str, refs: list[str]) -> Started:
    """Where each of `refs` (full names) points: `result()` is {ref: oid} for those that exist; empty when git
    fails (e.g. outside a repository, which the caller learns better elsewhere)."""

    def parse(out: bytes) -> dict[str, str]:
        return dict(line.split(" ") for line in out.decode().splitlines() if " " in line)

    return Started(["for-each-ref", "--format=%(refname) %(objectname)", *refs], repo, parse, check=False)


def rev_count(repo: Path | str, old: str | None, new: str) -> tuple[int, int]:
    """(behind, ahead): commits `old` has that `new` lacks, and the reverse; with no `old`, (0, commits of `new`)."""
    if old is None:
        return 0, int(run_text(["rev-list", "--count", new, "--"], repo))
    behind, ahead = run_text(["rev-list", "--left-right", "--count", f"{old}...{new}", "--"], repo).split()
    return int(behind), int(ahead)


def push_ref(repo: Path | str, remote: str, ref: str, force: bool = False, timeout: float | None = None) -> None:
    """Push `ref` (a full name) of `repo` to the same name on `remote` (a name or URL); `force` allows a rewrite.
    Under a deadline (see `transport`; default DEFAULT_TIMEOUT)."""
    transport(["push", "--quiet", remote, f"{'+' if force else ''}{ref}:{ref}"], repo, remote,
              timeout=DEFAULT_TIMEOUT if timeout is None else timeout, check=True)


def fetch_ref(repo: Path | str, remote: str, ref: str, timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """Fetch the ref `ref` (a full name outside refs/heads) of `remote` into the same name here, forced, without tags
    and without FETCH_HEAD: one round trip. Returns what it points at, None when the remote has no such ref. Under a
    deadline (see `transport`); raises GitError otherwise."""
    try:
        transport(["-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch", "--quiet", "--no-tags",
                   "--no-write-fetch-head", "--no-recurse-submodules", "--end-of-options", remote,
                   f"+{ref}:{ref}"], repo, remote, timeout=timeout, check=True)
    except GitError as exc:
        if "couldn't find remote ref" in exc.stderr:
            return None
        raise
    return rev_parse(Path(repo), ref)


def is_ancestor(repo: Path | str, ancestor: str, descendant: str) -> bool:
    """Whether the commit `ancestor` is `descendant` or one of its ancestors (`merge-base --is-ancestor`); False when
    either is not a commit here."""
    return run_result(["merge-base", "--is-ancestor", ancestor, descendant], repo).returncode == 0


def init(path: Path | str, *, bare: bool = False, initial_branch: str = "main",
         settings: Mapping[str, str] | None = None) -> None:
    """Create a repository at `path` (and the folders leading to it), with these `git config` settings."""
    target = Path(path).absolute()
    cwd = next(p for p in target.parents if p.is_dir())
    run(["init", "-q", *(["--bare"] if bare else []), f"--initial-branch={initial_branch}", str(target)], cwd)
    for key, value in (settings or {}).items():
        run(["config", key, value], target)


def commit_everything(repo: Path | str, message: str, env: Mapping[str, str] | None = None) -> None:
    """Stage every change of the work tree and commit it, without hooks or signing; `env` can set the identity."""
    run(["add", "-A"], repo, env=env)
    run(["commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message], repo, env=env)


# ---------------------------------------------------------------------------------------------------------------------
# --- Questions a fresh CI clone asks ---
# A CI job starts from a fresh (often shallow) clone of the parent: no local delivery branch, maybe no history. These
# answer what the cascade needs from such a clone: the delivered commits (fetched on demand; they are few), whether a
# history is cut off, and which commit removed the source folder.

# A depth no delivery branch reaches: `fetch --depth` with it brings a branch's whole history into a shallow clone
# without deepening anything else (`--unshallow`, i.e. depth 2147483647, would fetch the whole source history too).
_WHOLE_BRANCH_DEPTH = "1000000"


def tracking_ref(remote: str, branch: str) -> str:
    """The ref that keeps `remote`'s `branch` here: `refs/remotes/<remote>/<branch>` for a remote name; for a URL
    (which cannot be part of a ref name), `refs/ddl-cascade/remote/<branch>`."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", remote) and ".." not in remote and not remote.endswith(".lock"):
        return f"refs/remotes/{remote}/{branch}"
    return f"refs/ddl-cascade/remote/{branch}"


def fetch_tracking_branch(repo: Path | str, remote: str, branch: str, *, whole_history: bool = False,
                          timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """Fetch only `branch` of `remote` (a name or URL) into its tracking ref (`tracking_ref`), without tags and
    without touching FETCH_HEAD; return the fetched tip, None when the remote has no such branch. `whole_history`:
    in a shallow clone, bring the branch's complete history (and only that branch's). Under a deadline, as every
    transport call (`transport`). Raises GitError otherwise."""
    into = tracking_ref(remote, branch)
    depth = [f"--depth={_WHOLE_BRANCH_DEPTH}"] if whole_history else []
    try:
        transport(["-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch", "--quiet", "--no-tags",
                   "--no-write-fetch-head", "--no-recurse-submodules", *depth, "--end-of-options", remote,
                   f"+refs/heads/{branch}:{into}"], repo, remote, timeout=timeout, check=True)
    except GitError as exc:
        if "couldn't find remote ref" in exc.stderr:
            return None
        raise
    return rev_parse(Path(repo), f"{into}^{{commit}}")


def shallow_commits(repo: Path) -> set[str]:
    """The commits where a shallow clone's history is cut off (empty for a complete clone). Reads the `shallow` file
    of the (common) git directory: no process once the git directory is known."""
    common = common_dir(repo)
    if common is None:
        return set()
    try:
        text = (common / "shallow").read_text()
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def last_change_of(repo: Path | str, rev: str, path: str) -> tuple[str, str] | None:
    """(commit, subject) of the newest commit of `rev` that changed anything under `path` (`git log -1 -- path`),
    or None when none did."""
    out = run(["log", "-1", "--no-show-signature", "--format=%H %s", rev, "--", path], repo)
    text = out.decode("utf-8", "replace").strip()
    if not text:
        return None
    commit, _, subject = text.partition(" ")
    return commit, subject


# ---------------------------------------------------------------------------------------------------------------------
# The child-side guard (issue 12): which trees the child's own history says were delivered, and what a commit, the
# index or the work tree changes in the read-only folder.


class SubtreeMark:
    """A commit of a child's history that names a delivery: a `git subtree`/ddl-cascade commit carrying
    `git-subtree-split` (squash, add, rejoin, reset), or a `Merge commit '<id>'` (a non-squash `git subtree pull`)."""

    __slots__ = ("commit", "tree", "parents", "dir", "split", "mainline")

    def __init__(self, commit: str, tree: str, parents: list[str], dir: str | None, split: str | None,
                 mainline: str | None) -> None:
        self.commit, self.tree, self.parents = commit, tree, parents
        self.dir, self.split, self.mainline = dir, split, mainline


def subtree_marks(repo: Path | str, tip: str, hide: str | None = None) -> list[SubtreeMark]:
    """Every commit of `tip` (without the history of `hide`) whose message has a `git-subtree-split:` trailer or
    whose subject is `Merge commit '…'`, newest first; one `git log --grep` (about 35 ms over 10,000 commits).
    Trailers are read word by word, as git-subtree reads them. GitError when `hide` names no commit."""
    out = run(["log", "--grep=^git-subtree-split: ", "--grep=^Merge commit '", "--no-show-signature",
               "--format=%x01%H %T %P%x02%B", "--end-of-options", tip, *([f"^{hide}"] if hide else []), "--"],
              repo)
    marks = []
    for block in out.decode("utf-8", "surrogateescape").split("\x01")[1:]:
        head, _, message = block.partition("\x02")
        ids = head.split()
        values: dict[str, str] = {}
        for line in message.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("git-subtree-dir:", "git-subtree-split:", "git-subtree-mainline:"):
                values[words[0]] = words[1]
        dir = values.get("git-subtree-dir:")
        marks.append(SubtreeMark(ids[0], ids[1], ids[2:], dir.rstrip("/") if dir else None,
                                 values.get("git-subtree-split:"), values.get("git-subtree-mainline:")))
    return marks


def root_trees(repo: Path | str, tip: str) -> list[str]:
    """The root tree of every commit of `tip` (a delivery branch: each is a delivered tree)."""
    return run_text(["log", "--format=%T", "--end-of-options", tip, "--"], repo).split()


def _folder_pathspec(prefix: str) -> str:
    # Any case: `Read-Only/x` lands in the same folder on a case-insensitive file system, so it is a change too.
    return f":(icase,literal){prefix}"


def index_folder_tree(repo: Path | str, prefix: str, index_file: str | None = None) -> str | None:
    """The tree id the index (or the index file `index_file`) holds for folder `prefix`, None when it holds none
    (`git write-tree --prefix`: writes only tree objects)."""
    env = {"GIT_INDEX_FILE": index_file} if index_file else None
    proc = run_result(["write-tree", f"--prefix={prefix}/"], repo, env=env)
    if proc.returncode == 0:
        return proc.stdout.decode().strip()
    if b"not found" in proc.stderr:
        return None
    raise _error(["write-tree", f"--prefix={prefix}/"], proc.returncode, proc.stderr)


def staged_folder_paths(repo: Path | str, base: str, prefix: str, index_file: str | None = None) -> list[str]:
    """The paths under `prefix` (in any case) where the index differs from the commit or tree `base`: additions,
    deletions, content, mode and type changes, each rename as a deletion plus an addition."""
    env = {"GIT_INDEX_FILE": index_file} if index_file else None
    out = run(["diff", "--cached", "--no-renames", "--no-ext-diff", "--name-only", "-z", base, "--",
               _folder_pathspec(prefix)], repo, env=env)
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def stage_folder(repo: Path | str, prefix: str, index_file: str) -> None:
    """Stage everything the work tree holds under `prefix` (in any case), ignored files excepted, into the index
    file `index_file` (a copy: the user's index is not touched)."""
    args = ["add", "--all", "--", _folder_pathspec(prefix)]
    proc = run_result(args, repo, env={"GIT_INDEX_FILE": index_file})
    if proc.returncode != 0 and b"did not match any files" not in proc.stderr:
        raise _error(args, proc.returncode, proc.stderr)


def index_path(repo: Path | str) -> Path:
    """The index file of the work tree at `repo`."""
    return Path(run_text(["rev-parse", "--path-format=absolute", "--git-path", "index"], repo))


def commits_with_parents(repo: Path | str, base: str, tip: str) -> list[tuple[str, list[str]]]:
    """The commits of `base..tip` with their parents, newest first."""
    out = run_text(["rev-list", "--parents", "--end-of-options", tip, f"^{base}", "--"], repo)
    return [(line.split()[0], line.split()[1:]) for line in out.splitlines()]


def folder_paths_by_commit(repo: Path | str, commits: list[tuple[str, list[str]]], prefix: str
                           ) -> dict[str, list[str]]:
    """{commit: the paths under `prefix` (in any case) it changes against its first parent} for the commits that
    change any (one `git diff-tree --stdin`; a root commit against the empty tree)."""
    if not commits:
        return {}
    feed = "".join(f"{c} {parents[0]}\n" if parents else f"{c}\n" for c, parents in commits)
    out = run(["diff-tree", "--stdin", "-r", "--root", "--no-renames", "--no-ext-diff", "--name-only", "-z", "--",
               _folder_pathspec(prefix)], repo, input=feed.encode())
    wanted = {c for c, _ in commits}
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in out.decode("utf-8", "surrogateescape").split("\0"):
        token = token.strip("\n")
        if token in wanted:
            current = found.setdefault(token, [])
        elif token and current is not None:
            current.append(token)
    return found


def hook_path(repo: Path | str, name: str) -> Path:
    """Where git looks for hook `name` in the repository at `repo` (`core.hooksPath` honoured)."""
    return Path(run_text(["rev-parse", "--path-format=absolute", "--git-path", f"hooks/{name}"], repo))


# --- Questions `doctor` asks: can this remote be read and written, and which credential answered? ---
# The probes run through `transport` like every other remote call, with git's trace2 event stream written to a private
# temporary file: each credential helper git asks appears there as a child process (`<helper> get`, then `store`
# when the remote accepted the credential or `erase` when it refused it), and so does an askpass program. Only the
# helper's name is kept (never its arguments: a helper's command line may carry a secret), and the file is removed
# before the probe returns. For ssh (when the user set no ssh command of their own) ssh runs with `-v` and
# `BatchMode=yes`, and its debug lines say which key was accepted and whether the agent held it.


class CredentialTrace:
    """What git's trace2 events say about the credentials of one remote call.

    asked: the credential helpers asked for a credential (`get`), by name, in order; answered: the helper whose
    answer git used (the last one asked before git stored or erased it), None when none answered; refused: the remote
    refused that credential (git erased it); askpass: git ran an askpass program; ssh: git ran ssh; ssh_key: the key
    ssh authenticated with ("agent" or "key" and its name), when ssh said so.
    """

    __slots__ = ("asked", "answered", "refused", "askpass", "ssh", "ssh_key")

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answered: str | None = None
        self.refused = False
        self.askpass = False
        self.ssh = False
        self.ssh_key: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return (f"CredentialTrace(asked={self.asked}, answered={self.answered!r}, refused={self.refused}, "
                f"askpass={self.askpass}, ssh={self.ssh}, ssh_key={self.ssh_key})")


# The credential helper `transport` installs for a credential it was given (in the URL or by a forge): its name here.
OWN_HELPER = "ddl-cascade"
# `CredentialTrace.answered` when git's askpass program (GIT_ASKPASS, core.askPass, SSH_ASKPASS) gave the credential.
ASKPASS = "askpass"


def _helper_name(command: str) -> str:
    """A credential helper's name from its command line, without its arguments: `git credential-store --file=x`
    is "store", `/usr/bin/git-credential-foo` is "foo", a shell snippet is "a shell snippet"."""
    if "DDL_CASCADE_GIT_PASSWORD" in command:
        return OWN_HELPER
    first = command.split()[0] if command.split() else command
    if command.startswith("git credential-"):
        return command.split()[1][len("credential-"):]
    if "(" in first or "{" in command or ";" in command:
        return "a shell snippet"
    return Path(first).name.removeprefix("git-credential-")


def parse_credential_trace(events: str, ssh_debug: str) -> CredentialTrace:
    """The trace of one call from its trace2 `events` and its stderr (`ssh_debug`: ssh's debug lines, git's words)."""
    import json

    trace = CredentialTrace()
    last_get: str | None = None
    for line in events.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") != "child_start":
            continue
        argv = event.get("argv") or []
        if event.get("child_class") == "transport/ssh":
            trace.ssh = True
        elif len(argv) == 1 and argv[0].rsplit(" ", 1)[-1] in ("get", "store", "erase"):
            command, _, action = argv[0].rpartition(" ")
            name = _helper_name(command)
            if action == "get":
                trace.asked.append(name)
                last_get = name
            elif trace.answered is None and last_get is not None:
                # git stores (the remote accepted) or erases (it refused) the credential it used: the one the last
                # helper asked gave, unless askpass was asked after it.
                trace.answered = last_get
                trace.refused = action == "erase"
        elif argv and str(argv[-1]).startswith(("Username for", "Password for")):
            trace.askpass = True
            last_get = ASKPASS
    accepted = re.search(r"Server accepts key: (?P<key>.+?)(?: (?:RSA|ECDSA|ED25519|DSA|ECDSA-SK|ED25519-SK)\S* "
                         r"SHA256:\S+)?(?: (?P<how>agent|explicit))?\s*$", ssh_debug, re.MULTILINE)
    if trace.answered is None and last_get is not None and "could not read" not in ssh_debug.lower():
        # Neither stored nor erased: the remote took the credential but refused the request itself (403), or the
        # call failed after authenticating. It answered all the same; "could not read Username" says none did.
        trace.answered = last_get
    if accepted and "Authenticated to" in ssh_debug:
        trace.ssh_key = ("agent" if accepted["how"] == "agent" else "key", Path(accepted["key"].split()[0]).name)
    return trace


def _probe_env(url: str, cwd: Path | str, timeout: float, extra: Mapping[str, str] | None, events: Path
               ) -> dict[str, str]:
    env = dict(extra or {})
    env["GIT_TRACE2_EVENT"] = str(events)
    is_ssh = url.startswith(("ssh://", "git+ssh://", "ssh+git://")) or bool(_SCP_LIKE.match(url))
    if is_ssh and not _ssh_is_users(environ(extra), cwd):
        stall = max(1, int(min(timeout, _STALL)))
        env["GIT_SSH_COMMAND"] = (f"ssh -v -o BatchMode=yes -o ConnectTimeout={stall} "
                                  f"-o ServerAliveInterval={max(1, stall // 3)} -o ServerAliveCountMax=3")
    return env


def _without_debug(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines()
                     if not line.startswith(("debug1:", "debug2:", "debug3:", "OpenSSH_", "Transferred:",
                                             "Bytes per second:")))


class Probe:
    """The outcome of one probing transport call: `ok`; `error` (git's telling line, redacted) when not; the whole
    stderr without ssh's debug lines (`said`, redacted); the `trace` of credentials; `stdout`."""

    __slots__ = ("ok", "error", "said", "trace", "stdout")

    def __init__(self, ok: bool, error: str | None, said: str, trace: CredentialTrace, stdout: str) -> None:
        self.ok, self.error, self.said, self.trace, self.stdout = ok, error, said, trace, stdout


def _probe(args: list[str], cwd: Path | str, url: str, env: Mapping[str, str] | None, timeout: float) -> Probe:
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="ddl-cascade-doctor-"))  # mode 0700: only this user reads the trace
    events = folder / "events.json"
    try:
        try:
            # ask_first: the credential is only asked for after git's 401, so the trace shows which helper answers.
            proc = transport(args, cwd, url, env=_probe_env(url, cwd, timeout, env, events), timeout=timeout,
                             ask_first=True)
        except GitError as exc:
            text = events.read_text(errors="replace") if events.exists() else ""
            return Probe(False, str(exc), str(exc), parse_credential_trace(text, str(exc)), "")
        text = events.read_text(errors="replace") if events.exists() else ""
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    stderr = proc.stderr.decode("utf-8", "replace")
    said = redact(_without_debug(stderr))
    trace = parse_credential_trace(text, stderr)
    if proc.returncode == 0:
        return Probe(True, None, said, trace, proc.stdout.decode("utf-8", "replace"))
    return Probe(False, telling_line(said) or f"git exited with {proc.returncode}", said, trace,
                 proc.stdout.decode("utf-8", "replace"))


def probe_read(repo: Path | str, url: str, branch: str, env: Mapping[str, str] | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> tuple[Probe, str | None]:
    """Can `url` be read? (`git ls-remote` of `branch`): the probe, and the branch's tip (None when absent)."""
    probe = _probe(["ls-remote", "--end-of-options", url, f"refs/heads/{branch}"], repo, url, env, timeout)
    tip = None
    for line in probe.stdout.splitlines():
        oid, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            tip = oid
    return probe, tip


def probe_push(git_dir: Path, url: str, new: str, ref: str, env: Mapping[str, str] | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> tuple[Probe, str | None]:
    """Would the remote let us push? `git push --dry-run` of `new` to `ref`: git asks the remote to receive (with
    the credential that writes), compares, and sends nothing. The probe, and the remote's refusal of `ref` (its
    porcelain summary), if any."""
    args = ["--git-dir", str(git_dir), "push", "--dry-run", "--porcelain", "--no-verify", "--force",
            "--end-of-options", url, f"{new}:{ref}"]
    probe = _probe(args, git_dir, url, env, timeout)
    return probe, _rejected(probe.stdout, ref)


def _rejected(stdout: str, ref: str) -> str | None:
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] == "!" and parts[1].split(":")[-1] == ref:
            return parts[2].strip()
    return None


# The reasons a remote gives every ref of an atomic push that failed because of another ref (git's words).
_ATOMIC_ONLY = ("atomic transaction failed", "atomic push failed")


def probe_hooks(git_dir: Path, url: str, probe_commit: str, branch: str, env: Mapping[str, str] | None = None,
                timeout: float = DEFAULT_TIMEOUT) -> tuple[Probe, str | None]:
    """Would the remote's own rules (a pre-receive hook, branch protection) accept a fast-forward of `branch`?

    A dry run never reaches the remote's hooks, so this sends an atomic push of two refs: `probe_commit` (a new
    child of the branch's tip) to `branch`, and the same commit to `<branch>/ddl-cascade-doctor`, a ref that can
    never be created while `branch` exists. The remote runs its hooks on both; if they accept, the second ref fails
    and, the push being atomic, neither ref moves. Returns the probe and the remote's refusal of `branch` when it
    came from something other than the deliberately failing ref (None: the branch accepts pushes)."""
    ref = f"refs/heads/{branch}"
    args = ["--git-dir", str(git_dir), "push", "--atomic", "--porcelain", "--no-verify",
            "--end-of-options", url, f"{probe_commit}:{ref}", f"{probe_commit}:{ref}/ddl-cascade-doctor"]
    probe = _probe(args, git_dir, url, env, timeout)
    reason = _rejected(probe.stdout, ref)
    if reason is not None and any(words in reason for words in _ATOMIC_ONLY):
        return probe, None
    if reason is not None:
        remote = _remote_says(probe.said)
        return probe, reason + (f": {remote}" if remote else "")
    return probe, None


def extra_headers(repo: Path | str) -> list[tuple[str, str]]:
    """(scope, key) of every `http.extraHeader` / `http.<url>.extraHeader` git applies in `repo` (actions/checkout
    persists its token as one). Values are never read: they carry the credential."""
    out = run(["config", "--show-scope", "--name-only", "--get-regexp", r"^http\..*extraheader$"], repo,
              check=False).decode("utf-8", "replace")
    found = []
    for line in out.splitlines():
        scope, _, key = line.partition("\t")
        if key:
            found.append((scope, key))
    return found
