"""Subtree-shaped commits: the new tip that sets a child's prefix folder to a target delivered commit.

Commits have exactly the shapes and messages `git subtree` (git 2.39) makes, so both tools can be mixed:
- mode "squash" (like `git subtree add/pull --squash`):
    first time:  S = "Squashed '<prefix>/' content from commit <short>" (tree = delivered tree, no parent,
                 trailers git-subtree-dir / git-subtree-split), then "Merge commit '<S>' as '<prefix>'" with
                 parents (child tip, S);
    later:       S = "Squashed '<prefix>/' changes from <a>..<b>" with one "%h %s" line per delivery commit in a..b
                 and "REVERT: %h %s" lines for b..a, chained on the previous squash commit found as
                 `git subtree` finds it (find_latest_squash: `git log --grep` for the dir trailer), then
                 "Merge commit '<S>'" (what `git merge --no-ff <S>` writes) with parents (child tip, S);
- mode "merge" (like `git subtree add/pull`): first "Add '<prefix>/' from commit '<split>'" with trailers
  git-subtree-dir / -mainline / -split, parents (child tip, target); later "Merge commit '<target>'".
A child whose trailers were lost (a squash-merged pull request) gets a fresh "content from" squash, which
`git subtree pull --squash` then continues from. A reset writes the same shapes with a "Reset '<prefix>/' …" message.

The new root tree is the child's own tree with only the prefix folder replaced by the delivered tree, so the
child's other files are untouched. Objects are built in memory and written straight into the cache of children
(git.write_objects) by whoever carries the plan out, with no process per commit.
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from dataclasses import dataclass

from ddl_cascade import git
from ddl_cascade.cascade.cache import ChildCache
from ddl_cascade.cascade.state import DeliveryHistory, commit_tree, subtree, tree_entries
from ddl_cascade.config import Child, Config

_DEFAULT_BRANCHES = ("main", "master")  # git's merge.suppressDest default: no " into <branch>" for these


@dataclass
class NewCommit:
    """One commit a plan writes into a child (`sync --json` children[].commits[])."""

    id: str
    kind: str  # "squash", "merge", "add" or "reset"
    subject: str



_SQUASH_WALK_LIMIT = 500


def _split_trailers(message: str) -> tuple[str | None, str] | None:
    """(mainline, split) from a message's git-subtree trailers, read word by word as git-subtree reads them."""
    mainline = split = None
    for line in message.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "git-subtree-mainline:":
            mainline = words[1]
        elif len(words) >= 2 and words[0] == "git-subtree-split:":
            split = words[1]
    return (mainline, split) if split else None


def _commit_time(reader: git.ObjectReader, commit: str) -> int:
    answer = reader.read(commit)
    return git.Commit(answer[2]).committer_time if answer is not None else 0


class Builder:
    """Builds the commits for one run; shared by all worker threads (only the message cache is shared state)."""

    def __init__(self, config: Config, history: DeliveryHistory, cache: ChildCache, when: int | None = None) -> None:
        self.config = config
        self.history = history
        self.cache = cache
        stamp = f"{when if when is not None else int(time.time())} +0000"
        self.identity = f"{config.author.name} <{config.author.email}> {stamp}"
        self._messages: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    # -- messages, exactly as git-subtree's squash_msg / add_msg / git merge write them -------------------------------

    def _short(self, *commits: str) -> list[str]:
        # `git rev-parse --short` takes one revision; log prints the same abbreviations for many, in order.
        return git.short_ids(self.config.root, list(commits))

    def squash_message(self, prefix: str, old_split: str | None, new_split: str) -> str:
        # Built under the lock: every child usually needs the same message, and the first thread's three `git log`
        # calls serve them all instead of each worker thread running its own.
        key = (prefix, old_split or "", new_split)
        with self._lock:
            if key not in self._messages:
                self._messages[key] = self._build_squash_message(prefix, old_split, new_split)
            return self._messages[key]

    def _build_squash_message(self, prefix: str, old_split: str | None, new_split: str) -> str:
        if old_split:
            old_short, new_short = self._short(old_split, new_split)
            forward = git.subject_lines(self.config.root, f"{old_split}..{new_split}")
            revert = git.subject_lines(self.config.root, f"{new_split}..{old_split}", prefix="REVERT: ")
            text = f"Squashed '{prefix}/' changes from {old_short}..{new_short}\n\n{forward}{revert}"
        else:
            (new_short,) = self._short(new_split)
            text = f"Squashed '{prefix}/' content from commit {new_short}\n"
        return text + f"\ngit-subtree-dir: {prefix}\ngit-subtree-split: {new_split}\n"

    @staticmethod
    def merge_message(commit: str, branch: str) -> str:
        # `git merge --no-ff <sha>` on a branch other than main/master appends " into <branch>".
        into = "" if branch in _DEFAULT_BRANCHES else f" into {branch}"
        return f"Merge commit '{commit}'{into}\n"

    @staticmethod
    def add_message(prefix: str, mainline: str | None, split: str) -> str:
        return (f"Add '{prefix}/' from commit '{split}'\n\ngit-subtree-dir: {prefix}\n"
                f"git-subtree-mainline: {mainline or ''}\ngit-subtree-split: {split}\n")

    # -- objects ------------------------------------------------------------------------------------------------------

    def _commit(self, objects: list, tree: str, parents: list[str], message: str) -> str:
        body = git.commit_bytes(tree, parents, self.identity, self.identity, message)
        objects.append(("commit", body))
        return git.object_id("commit", body)

    def replace_folder(self, reader: git.ObjectReader, root: str | None, prefix: str, folder: str,
                       objects: list) -> str:
        """The root tree `root` with `prefix` set to tree `folder`, everything else kept; new trees go to `objects`."""

        def rebuild(tree: str | None, parts: list[str]) -> str:
            entries = tree_entries(reader, tree) if tree else {}
            name = parts[0].encode("utf-8", "surrogateescape")
            if len(parts) == 1:
                entries[name] = ("40000", folder)
            else:
                current = entries.get(name)
                inner = current[1] if current is not None and current[0] == "40000" else None
                entries[name] = ("40000", rebuild(inner, parts[1:]))
            body = git.tree_bytes((mode, n, oid) for n, (mode, oid) in entries.items())
            objects.append(("tree", body))
            return git.object_id("tree", body)

        return rebuild(root, prefix.split("/"))

    def latest_squash(self, reader: git.ObjectReader, tip: str, prefix: str) -> tuple[str, str] | None:
        """(squash commit, split commit) as `git subtree`'s find_latest_squash reads them from the child's history.

        git runs `git log --grep="^git-subtree-dir: <dir>/*$"` and takes the first match carrying a split trailer;
        for an add/rejoin merge (it also carries a mainline trailer) the merge's second parent stands in for the
        squash commit. The same walk is done here through the ObjectReader, newest commit first as `git log`
        orders them, so the usual case (the trailer a few commits back) costs no process; a long search falls back
        to `git log` itself.
        """
        pattern = re.compile(rf"^git-subtree-dir: {re.escape(prefix)}/*$", re.M)
        heap: list[tuple[int, str]] = [(0, tip)]
        seen = {tip}
        for _ in range(_SQUASH_WALK_LIMIT):
            if not heap:
                return None
            _, commit = heapq.heappop(heap)
            answer = reader.read(commit)
            if answer is None:
                break
            parsed = git.Commit(answer[2])
            text = parsed.message
            if pattern.search(text):
                found = _split_trailers(text)
                if found is not None:
                    mainline, split = found
                    return self._squash_of(reader, commit, mainline, split)
            for parent in parsed.parents:
                if parent not in seen:
                    seen.add(parent)
                    heapq.heappush(heap, (-_commit_time(reader, parent), parent))
        for commit, text in git.messages_matching(self.cache.path, tip, f"^git-subtree-dir: {prefix}/*$", 50):
            found = _split_trailers(text)
            if found is not None:
                return self._squash_of(reader, commit, *found)
        return None

    @staticmethod
    def _squash_of(reader: git.ObjectReader, commit: str, mainline: str | None, split: str) -> tuple[str, str] | None:
        if mainline:  # an add/rejoin merge: its second parent plays the squash commit
            parents = commit_tree(reader, commit)[1]
            if len(parents) < 2:
                return None
            commit = parents[1]
        return commit, split

    def update(self, reader: git.ObjectReader, child: Child, tip: str | None, target: str,
               reset_note: str | None = None) -> tuple[str, list[NewCommit], list[tuple[str, bytes]]]:
        """New tip, its new commits (oldest first) and objects that set the child's prefix to `target`'s tree."""
        objects: list[tuple[str, bytes]] = []
        commits: list[NewCommit] = []
        delivered_tree = self.history.tree_of[target]
        root = commit_tree(reader, tip)[0] if tip else None
        had_folder = tip is not None and subtree(reader, root, child.prefix) is not None
        new_root = self.replace_folder(reader, root, child.prefix, delivered_tree, objects)
        mainline = [tip] if tip else []

        if child.mode == "squash":
            latest = self.latest_squash(reader, tip, child.prefix) if tip and had_folder else None
            if latest is not None and (latest[1] == target or latest[1] not in self.history.tree_of):
                latest = None  # nothing to chain on: start a fresh squash, as `add --squash` would
            message = self.squash_message(child.prefix, latest[1] if latest else None, target)
            squash = self._commit(objects, delivered_tree, [latest[0]] if latest else [], message)
            commits.append(NewCommit(squash, "squash", message.split("\n", 1)[0]))
            if reset_note:
                merge_msg = f"Reset '{child.prefix}/' to delivered commit '{target}'\n\n{reset_note}\n"
            elif latest:
                merge_msg = self.merge_message(squash, child.branch)
            else:
                merge_msg = f"Merge commit '{squash}' as '{child.prefix}'\n"
            new = self._commit(objects, new_root, mainline + [squash], merge_msg)
            commits.append(NewCommit(new, "reset" if reset_note else "merge", merge_msg.split("\n", 1)[0]))
        else:
            if reset_note:
                message, kind = (f"Reset '{child.prefix}/' to delivered commit '{target}'\n\n{reset_note}\n",
                                 "reset")
            elif had_folder:
                message, kind = self.merge_message(target, child.branch), "merge"
            else:
                message, kind = self.add_message(child.prefix, tip, target), "add"
            new = self._commit(objects, new_root, mainline + [target], message)
            commits.append(NewCommit(new, kind, message.split("\n", 1)[0]))
        return new, commits, objects
