"""Histories for the split tests, built in one `git fast-import`, and the real `git subtree split` as the oracle.

A history is a list of `Commit`s; each names its parents by index and gives its whole tree, so merges can have any
tree at all (git subtree never looks at how a merge was made, only at what it holds).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SUBTREE = "/usr/lib/git-core/git-subtree"


@dataclass
class Commit:
    parents: list[int | str] = field(default_factory=list)  # indexes in the same import, or commit ids
    files: dict[str, bytes] = field(default_factory=dict)
    message: bytes = b"change\n"
    author: bytes = b"A U Thor <author@example.com>"
    committer: bytes = b"C O Mitter <committer@example.com>"
    when: int = 1_700_000_000
    tz: bytes = b"+0000"
    encoding: bytes | None = None


def fast_import_stream(commits: list[Commit], refs: dict[str, int]) -> bytes:
    out = bytearray()
    for i, c in enumerate(commits):
        out += b"reset refs/heads/fi-tmp\n"
        out += b"commit refs/heads/fi-tmp\nmark :%d\n" % (i + 1)
        out += b"author %s %d %s\n" % (c.author, c.when, c.tz)
        out += b"committer %s %d %s\n" % (c.committer, c.when, c.tz)
        if c.encoding is not None:
            out += b"encoding %s\n" % c.encoding
        out += b"data %d\n%s\n" % (len(c.message), c.message)
        for word, p in zip([b"from"] + [b"merge"] * (len(c.parents) - 1), c.parents):
            out += b"%s %s\n" % (word, p.encode() if isinstance(p, str) else b":%d" % (p + 1))
        out += b"deleteall\n"
        for path, content in sorted(c.files.items()):
            out += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content)
        out += b"\n"
    for ref, index in refs.items():
        out += b"reset refs/heads/%s\nfrom :%d\n\n" % (ref.encode(), index + 1)
    out += b"reset refs/heads/fi-tmp\nfrom 0000000000000000000000000000000000000000\n\n"
    return bytes(out)


def git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def build(repo: Path, commits: list[Commit], refs: dict[str, int]) -> dict[int, str]:
    """Import `commits` into `repo` (created if needed); returns index -> commit id."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "--initial-branch=main")
    marks = repo / ".git" / "fi-marks"
    git(repo, "fast-import", "--quiet", "--force", f"--export-marks={marks}",
        input=fast_import_stream(commits, refs))
    git(repo, "update-ref", "-d", "refs/heads/fi-tmp", check=False)
    ids = {}
    for line in marks.read_text().splitlines():
        mark, oid = line.split()
        ids[int(mark[1:]) - 1] = oid
    return ids


def oracle(repo: Path, prefix: str, rev: str = "main") -> tuple[str | None, str]:
    """(commit id or None when it fails, stderr) of the real `git subtree split --prefix=<prefix> <rev>`."""
    (repo / prefix).mkdir(parents=True, exist_ok=True)  # the script insists the folder exists in the work tree
    env = dict(os.environ)
    proc = subprocess.run(["git", "subtree", "split", "-q", f"--prefix={prefix}", rev], cwd=repo, env=env,
                          capture_output=True)
    out = proc.stdout.decode().strip()
    return (out if proc.returncode == 0 and out else None), proc.stderr.decode(errors="replace")
