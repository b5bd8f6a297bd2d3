"""Shards: which children one CI job of a matrix acts on (`--shard K/N`).

A child's shard is chosen by rendezvous (highest random weight) hashing of its name: each of the N shards scores
the name with a keyed hash and the child goes to the highest score. So a child's shard depends only on its own name
and N, never on its position in cascade.toml: adding or removing a child moves no other child, and going from N to
N+1 shards moves about 1/(N+1) of them (those the new shard now wins). Every child lands in exactly one shard, and
`1/1` is the whole selection.

The hash is BLAKE2b (stable across Python versions and processes, unlike `hash()`), so every runner of the matrix
computes the same partition without talking to the others.

The shard is applied after the names and the tag (plan.py `Selection`): `--tag x --shard 2/4` is the second quarter
of the children tagged x, and `reset --all --shard 2/4` the second quarter of all children. A run with `--shard`
says so in its document (`ShardPart`: which part, of how many children, and each child's place in the unsharded
run's order), which is what `report merge` (merge.py) needs to join the parts into the document one unsharded run
would have printed, without reading cascade.toml.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Iterable, Literal, TypeVar

from ddl_cascade.errors import UsageError

T = TypeVar("T")

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`; serialised in a `--json` document as `"shard": {"index", "count"}`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """`K/N` with 1 <= K <= N; anything else is a usage error (exit 2) naming the option."""
        match = _SPEC.match(text or "")
        if not match:
            raise UsageError(f"--shard '{text}' is not K/N (for example 2/16).")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 1 <= index <= count:
            raise UsageError(f"--shard '{text}': K must be between 1 and N, and N at least 1.")
        return cls(index, count)

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def select(self, items: Iterable[T], name=lambda item: item.name) -> list[T]:
        """The items (children, usually) of this shard, in their given order."""
        return [item for item in items if self.holds(name(item))]

    def part(self, whole: list[T], command: str, name=lambda item: item.name) -> "ShardPart":
        """This shard's `ShardPart` of the unsharded selection `whole` (in the unsharded run's order)."""
        positions = [i for i, item in enumerate(whole) if self.holds(name(item))]
        return ShardPart(self.index, self.count, command, len(whole), positions)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class ShardPart:
    """`"shard"` in the `--json` document of a run with `--shard K/N` (null without): shard `index` of `count`, the
    command that ran, how many children the unsharded run selects, and where each of this shard's children stands in
    that run's order (`positions[i]` is the place of `children[i]`)."""

    index: int
    count: int
    command: Literal["status", "sync", "reset", "full"]  # a merge joins the documents of one command
    selected: int  # children the same command without --shard selects
    positions: list[int]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class ShardRun:
    """One entry of `"shards"` in a document `report merge` wrote (null in any other): a shard's part and whether
    its run succeeded."""

    index: int
    count: int
    ok: bool
    children: int  # the children this shard ran


def _score(shard: int, name: str) -> int:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8, key=b"ddl-cascade-shard", salt=shard.to_bytes(16, "big"))
    return int.from_bytes(digest.digest(), "big")


@lru_cache(maxsize=65536)  # a run asks for each child several times (count, deliveries, plan, document)
def shard_of(name: str, count: int) -> int:
    """The 1-based shard that holds the child `name` among `count` shards (rendezvous hashing)."""
    if count == 1:
        return 1
    return max(range(1, count + 1), key=lambda k: (_score(k, name), -k))
