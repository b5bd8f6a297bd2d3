"""The cache of children: one bare repository under the parent's git directory that holds every child's branch.

Why a cache: `sync`, `status`, `reset` and `validate --children` all need to read each child's tree and history, and
sync needs somewhere to build new commits. Cloning each child into a working tree (the seed's method) costs a checkout
per child per run. Instead every child branch is fetched, incrementally, into one bare repository:

    <parent git dir>/ddl-cascade/children.git
        objects/info/alternates -> the parent's objects (delivered trees and commits are never copied)
        refs/children/<name>    -> the child's branch tip as last seen (or as we last pushed it)

Fetching is skipped when `git ls-remote` shows the tip the cache already has, so a no-op run costs one small process
per child. All transport goes through the `git` command (credential helpers, SSH agent and GIT_ASKPASS work).

Public API (stable; `validate --children` builds on it):

    cache = ChildCache(config)               # creates the cache on first use
    fetched = cache.fetch(children, jobs=8)  # dict: child name -> Fetched
    f = fetched["flyway-1-pipeline"]
    f.tip     # the child's branch tip (a commit id in cache.path), None if the branch does not exist or on error
    f.error   # None, or why the child could not be read (credentials redacted): the child is unreachable
    with git.ObjectReader(cache.path) as reader:   # read any child's (or the parent's) objects
        reader.read(f"{f.tip}:read-only-flyway-files/sql")

`ChildCache.delivery_tip()` is the parent's delivery branch tip (readable in the cache through the alternates).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, TypeVar

from ddl_cascade import git
from ddl_cascade.config import Child, Config
from ddl_cascade.errors import say
from ddl_cascade.lock import holds

# Above this many packs at the end of a run, `maintain` merges them into one (a multi-pack-index covers fewer).
MERGE_PACKS_AT = 64
# During a run: the multi-pack-index is rewritten after this many fetches, and the packs merged after this many.
INDEX_PACKS_EVERY = 32
MERGE_PACKS_EVERY = 256


@dataclass(frozen=True)
class Fetched:
    """What the cache knows of one child after a fetch."""

    child: Child
    tip: str | None  # the child's branch tip; None when the branch does not exist yet (or on error)
    error: str | None = None  # set when the child could not be reached; the child is then `unreachable`
    transferred: bool = False  # objects were fetched (False: the cache already had this tip)

    @property
    def name(self) -> str:
        return self.child.name


def default_jobs(count: int) -> int:
    return max(1, min(8, count))


T = TypeVar("T")
R = TypeVar("R")


class Stopped(KeyboardInterrupt):
    """Ctrl-C during `in_parallel`: `done` holds each item's answer, or None for an item that was not finished."""

    def __init__(self, done: list) -> None:
        super().__init__()
        self.done = done


def in_parallel(work: Callable[[T], R], items: list[T], jobs: int | None = None) -> list[R]:
    """`work(item)` for every item, `jobs` at a time; the answers in the items' order.

    Ctrl-C (a KeyboardInterrupt in the calling thread) stops every git transport at once (git.stop_transport kills
    their process groups), lets each worker finish what it holds (work that needs no remote ends quickly; a
    transport fails at once), drops the items not started, and raises Stopped with the answers that are complete.
    """
    pool = ThreadPoolExecutor(max_workers=jobs or default_jobs(len(items)))
    futures = [pool.submit(work, item) for item in items]
    try:
        answers = [future.result() for future in futures]
    except KeyboardInterrupt:
        git.stop_transport()
        pool.shutdown(wait=True, cancel_futures=True)
        git.resume_transport()
        raise Stopped([f.result() if f.done() and not f.cancelled() and f.exception() is None else None
                       for f in futures]) from None
    pool.shutdown(wait=True)
    return answers


def child_ref(child: Child | str) -> str:
    """The cache ref holding a child's tip; names git would refuse in a ref are hex-encoded."""
    name = child if isinstance(child, str) else child.name
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) and ".." not in name and not name.endswith((".lock", ".")):
        return f"refs/children/{name}"
    return f"refs/children/x-{name.encode('utf-8').hex()}"


class ChildCache:
    """The bare cache repository of children under the parent's git directory (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        from ddl_cascade.lock import state_dir

        state = state_dir(config)
        self.parent_git_dir = state.parent
        self.path = state / "children.git"
        self._tips: dict[str, str] = {}
        self._delivery: str | None = None
        self._pending: dict[str, str] = {}
        self.transferred = False  # some fetch of this run brought objects (a new pack)
        self._packs_since_index = 0
        self._packs_since_merge = 0
        self._merging = False
        self._pending_lock = threading.Lock()
        self._warned = False
        self._repaired = False
        # Extra environment for git's transport to a child (a forge token for pull-request delivery), set by the
        # command that knows the credentials; None: git's own credential helpers, SSH agent and askpass.
        self.git_env: Callable[[Child], Mapping[str, str] | None] | None = None
        try:
            self._ensure()
        except git.GitError as exc:  # e.g. a garbled config: rebuilt by repair() under the lock, else an error
            if not holds(config):
                raise
            shutil.rmtree(self.path, ignore_errors=True)
            self._ensure()
            self._unreadable = git.telling_line(str(exc)) or "unreadable"
        if holds(config):  # else `fetch` repairs, once it holds the lock: nothing may be removed under another run
            self.repair()

    # -- setup ---------------------------------------------------------------------------------------------------------

    def _ensure(self) -> None:
        if not (self.path / "HEAD").is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            git.init(self.path, bare=True, settings={
                "gc.auto": "0",  # the parent's own gc (or ours, explicitly) decides when to pack
                "core.logAllRefUpdates": "false",
            })
        alternates = self.path / "objects" / "info" / "alternates"
        wanted = str(self.parent_git_dir / "objects") + "\n"
        if not alternates.is_file() or alternates.read_text() != wanted:
            alternates.parent.mkdir(parents=True, exist_ok=True)
            alternates.write_text(wanted)
        self._scratch_root = self.path / "fetching"
        self._scratch_root.mkdir(exist_ok=True)
        try:
            self._tips, self._broken = git.refs_and_broken(self.path, "refs/children/")
        except git.GitError as exc:  # not readable as a repository at all: repair() rebuilds it
            self._tips, self._broken, self._unreadable = {}, [], git.telling_line(str(exc)) or "unreadable"
        else:
            self._unreadable = None

    # -- self-repair ---------------------------------------------------------------------------------------------------
    # The cache is disposable: any damage to it is repaired by removing what is damaged and fetching again. Two
    # moments: at the start of a run, under the parent lock (`repair`: what a killed run leaves behind, broken refs,
    # an unreadable repository); and whenever reading or pushing a child's objects fails because an object is
    # missing or corrupt (`refetch`, called by plan and apply: e.g. the parent's history was rewritten and
    # garbage-collected, and the cache borrowed those objects through its alternates).

    def repair(self) -> None:
        """Find and repair damage a run can find before it starts; warn once on stderr. Needs the parent lock."""
        if self._repaired:
            return
        self._repaired = True
        found = []
        if self._unreadable is not None:
            found.append(f"{self._unreadable}: rebuilt")
            shutil.rmtree(self.path, ignore_errors=True)
            self._ensure()
        leftovers = [p for p in self._scratch_root.iterdir()]
        if leftovers:
            found.append(f"{len(leftovers)} scratch folder(s) left by an interrupted run: removed")
            for folder in leftovers:
                shutil.rmtree(folder, ignore_errors=True) if folder.is_dir() else folder.unlink(missing_ok=True)
        half = self._half_written()
        if half:
            found.append(f"{len(half)} half-written or stale file(s) of an interrupted git ({half[0].name}): removed")
            for path in half:
                path.unlink(missing_ok=True)
        if self._broken:
            found.append(f"broken ref {', '.join(self._broken)}: refetched")
            for ref in self._broken:
                (self.path / ref).unlink(missing_ok=True)
            self._broken = []
        if found:
            self._warn("; ".join(found), "repaired")

    def _half_written(self) -> list[Path]:
        """Files a killed git leaves: temporary objects and packs, a pack without its index (or the reverse), a
        .keep of an unfinished fetch, and lock files (this run holds the parent lock, so no git is at work here)."""
        objects = self.path / "objects"
        pack = objects / "pack"
        out = [*pack.glob("tmp_*"), *pack.glob("*.keep"), *pack.glob("*.lock"), *objects.glob("tmp_*"),
               *objects.glob("incoming-*"), *objects.glob("??/tmp_obj_*"), *(objects / "info").glob("*.lock"),
               *self.path.glob("*.lock"), *(self.path / "refs").rglob("*.lock")]
        packs = {p.stem for p in pack.glob("*.pack")}
        indexes = {p.stem for p in pack.glob("*.idx")}
        out += [pack / f"{stem}.pack" for stem in packs - indexes] + [pack / f"{stem}.idx" for stem in indexes - packs]
        return [p for p in out if p.is_file()]

    def _warn(self, what: str, done: str) -> None:
        """Say once per run that the cache was damaged, what was wrong and what was done."""
        with self._pending_lock:
            if self._warned:
                return
            self._warned = True
        say(f"warning: the cache of children at {self.path} was damaged ({what}); {done}.")

    def refetch(self, child: Child, why: str) -> Fetched:
        """The cache's copy of `child` is damaged (`why`, e.g. an object is missing): forget it and fetch the child
        afresh, offering nothing of its old copy as a "have"."""
        self._warn(why.removeprefix("could not plan: ").rstrip("."), "refetched the children it affects")
        ref = child_ref(child)
        with self._pending_lock:
            self._tips.pop(ref, None)
            self._pending.pop(ref, None)
        return self.fetch_one(child)

    # -- the parent ----------------------------------------------------------------------------------------------------

    def _delivery_tip(self) -> str | None:
        if self._delivery is None:
            self._delivery = self.delivery_tip() or ""
        return self._delivery or None

    def delivery_tip(self) -> str | None:
        """The parent's delivery branch tip, or None when it has not been published yet."""
        return git.rev_parse(self.config.root, f"refs/heads/{self.config.source.delivery_branch}^{{commit}}")

    # -- children ------------------------------------------------------------------------------------------------------

    def cached_tip(self, child: Child) -> str | None:
        """The tip the cache holds for `child` (from an earlier fetch or push), without asking the child."""
        return self._tips.get(child_ref(child))

    def _env(self, child: Child, base: Mapping[str, str] | None = None) -> dict[str, str]:
        extra = self.git_env(child) if self.git_env is not None else None
        return {**(base or {}), **(extra or {})}

    def remote_tip(self, child: Child) -> str | None:
        """The child's branch tip as the child reports it now (`git ls-remote`); None if the branch is absent."""
        return self.branch_tip(child, child.branch)

    def branch_tip(self, child: Child, branch: str) -> str | None:
        """The tip of any `branch` of the child now (`git ls-remote`); None if the child has no such branch."""
        return git.remote_branch_tip(self.path, child.url, branch, env=self._env(child),
                                     timeout=self.config.sync.timeout)

    def fetch_one(self, child: Child, reader: git.ObjectReader | None = None) -> Fetched:
        """Bring the cache up to date with one child; never raises for a child's own failure.

        A child seen before costs one `ls-remote` when it has not moved. A child never seen is fetched directly.
        `reader` is accepted for callers that hold one; the tip is read from the fetch itself.
        """
        cached = self.cached_tip(child)
        try:
            if cached is not None:
                remote = self.remote_tip(child)
                if remote is None:
                    return Fetched(child, None)
                if remote == cached:
                    return Fetched(child, remote)
            tip = self._fetch_into_scratch(child, cached)
            if tip is None:  # reachable, but the branch does not exist yet
                return Fetched(child, None)
            self.record(child, tip)
            self.transferred = True
            self._new_pack()
            return Fetched(child, tip, transferred=True)
        except git.GitError as exc:
            if cached is not None and git.says_objects_are_damaged(str(exc)):  # our copy of the child is broken
                return self.refetch(child, git.telling_line(str(exc)))
            return Fetched(child, None, error=git.telling_line(str(exc)) or "git failed")

    def _fetch_into_scratch(self, child: Child, cached: str | None) -> str | None:
        """Fetch the child's branch into the shared object store through a throwaway git directory; its tip.

        Why not fetch straight into this repository: after every fetch git checks connectivity with
        `rev-list --objects --not --all`, which walks the tree of every ref in the repository. With one ref per
        child, a first sync of N children would cost O(N^2). The scratch git directory holds one ref (the child's
        cached tip, so the check stops there) and borrows this repository's objects (GIT_OBJECT_DIRECTORY), so the
        fetched pack lands here all the same.
        """
        with self.scratch(cached) as (scratch, env):
            # Offer as "have" only this child's last tip and, to a child delivered in merge mode (whose history
            # holds delivered commits), the delivery branch: with no negotiation tip, git would walk and offer every
            # commit it can reach. A squash-mode child never holds a delivered commit: offering one only cost a
            # round trip of negotiation (a child's first fetch over HTTP: 3 requests, not 4).
            delivered = self._delivery_tip() if child.mode == "merge" else None
            try:
                git.fetch_branch(scratch, child.url, child.branch, "refs/heads/tip", (cached, delivered),
                                 env=self._env(child, env), timeout=self.config.sync.timeout)
            except git.NoSuchBranch:
                return None
            # The child may have moved since ls-remote; the ref holds what was actually fetched.
            loose = scratch / "refs" / "heads" / "tip"
            text = loose.read_text().strip() if loose.is_file() else ""
            if re.fullmatch(r"[0-9a-f]{40}", text):
                return text
            tip = git.rev_parse(scratch, "refs/heads/tip")
            if tip is None:
                raise git.GitError(["fetch"], 1, "the fetched branch left no tip")
            return tip

    @contextmanager
    def scratch(self, base: str | None = None) -> Iterator[tuple[Path, dict[str, str]]]:
        """A throwaway git directory that uses this cache's object store and holds no ref but `base` (if given).

        Yields (git dir, environment for git). Git commands that look at every local ref (a fetch's connectivity
        check, a push listing local heads) cost O(1) there instead of O(children).
        """
        scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=self._scratch_root))
        try:
            (scratch / "refs" / "heads").mkdir(parents=True)
            (scratch / "HEAD").write_text("ref: refs/heads/tip\n")
            (scratch / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tbare = true\n")
            if base:
                (scratch / "refs" / "heads" / "base").write_text(base + "\n")
            yield scratch, {"GIT_OBJECT_DIRECTORY": str(self.path / "objects")}
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def push(self, child: Child, updates: list[tuple[str, str, str | None]]) -> git.PushOutcome:
        """Push (new commit, ref, expected old tip or None) to the child as compare-and-swap updates.

        From a scratch git dir: `git push` reads every local ref, and the cache holds one per child.
        """
        with self.scratch() as (scratch, env):
            return git.push_with_lease(scratch, child.url, updates, env=self._env(child, env),
                                       timeout=self.config.sync.timeout)

    def fetch(self, children: Iterable[Child], jobs: int | None = None,
              on_done: Callable[[Fetched], None] | None = None) -> dict[str, Fetched]:
        """Fetch many children in parallel (`jobs` at a time); one child's failure never stops the others.

        Holds the parent lock (re-entrant, so sync and status, which already hold it, are unaffected): callers such
        as `validate --children` and `db --child` write to the cache too and must not race a sync.
        """
        from ddl_cascade.lock import parent_lock

        children = list(children)
        results: dict[str, Fetched] = {}
        def one(child: Child) -> Fetched:
            fetched = self.fetch_one(child)
            if on_done:
                on_done(fetched)
            return fetched

        with parent_lock(self.config):
            self.repair()
            try:
                for fetched in in_parallel(one, children, jobs):
                    results[fetched.name] = fetched
            finally:
                self.flush()  # the fetched tips become refs here, which keeps their objects safe from any repack
        return results

    def record(self, child: Child, tip: str) -> None:
        """Remember `tip` as the child's tip (after we pushed it), so the next run need not fetch it back.

        Kept in memory until `flush` writes every recorded tip with one `git update-ref --stdin`. A run killed before
        the flush only costs the next run a fetch.
        """
        ref = child_ref(child)
        with self._pending_lock:
            self._pending[ref] = tip
            self._tips[ref] = tip

    def flush(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        git.update_refs(self.path, pending)

    def _new_pack(self) -> None:
        """Every fetch adds a pack. A lookup scans each pack a multi-pack-index does not cover, and `git push`'s
        pack-objects scans every pack for each object it sends: past a few dozen new packs, index them again, and
        past a few hundred merge them, or a first sync of N children costs O(N^2)."""
        with self._pending_lock:
            self._packs_since_index += 1
            self._packs_since_merge += 1
            merge = self._packs_since_merge >= MERGE_PACKS_EVERY and not self._merging
            index = self._packs_since_index >= INDEX_PACKS_EVERY
            if merge:
                self._packs_since_merge, self._packs_since_index, self._merging = 0, 0, True
            elif index:
                self._packs_since_index = 0
        try:
            if merge:
                self._merge_packs()
            elif index:
                git.write_multi_pack_index(self.path)
        except git.GitError:
            pass  # another process is writing it; only a speed-up
        finally:
            if merge:
                with self._pending_lock:
                    self._merging = False

    def _merge_packs(self) -> None:
        # --keep-unreachable: nothing is ever dropped, so objects fetched or built by threads still running (not yet
        # under a ref) are safe; -l: the parent's objects stay in the parent.
        git.repack_local(self.path)

    def maintain(self) -> None:
        """Keep object lookups fast as packs accumulate (one per fetch): after a run that fetched, index all packs
        with one multi-pack-index; once there are many, merge them into one pack (local objects only; the parent's
        stay in the parent)."""
        if not self.transferred:
            return
        packs = sum(1 for p in (self.path / "objects" / "pack").glob("*.pack"))
        try:
            if packs > MERGE_PACKS_AT:
                self._merge_packs()
            elif packs > 1:
                git.write_multi_pack_index(self.path)
        except git.GitError:
            pass  # only a speed-up; the next run tries again
        self.transferred = False

