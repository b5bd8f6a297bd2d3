"""A small builder of real git repositories for tests. It drives the real `git` command; nothing is mocked."""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

_clock = itertools.count(1_700_000_000, 60)


class Repo:
    def __init__(self, path: Path, bare: bool = False) -> None:
        self.path = Path(path)
        self.bare = bare

    @classmethod
    def init(cls, path: Path, bare: bool = False, branch: str = "main") -> "Repo":
        path.mkdir(parents=True, exist_ok=True)
        args = ["git", "init", "-q", f"--initial-branch={branch}"] + (["--bare"] if bare else []) + [str(path)]
        subprocess.run(args, check=True)
        return cls(path, bare)

    def git(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> str:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(["git", *args], cwd=self.path, input=data, env=full_env, capture_output=True)
        if check and proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode("utf-8", "surrogateescape").strip()

    def write(self, files: dict[str, str | bytes | None]) -> None:
        """Write (or, for None, delete) files in the work tree."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                if target.exists():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(self, files: dict[str, str | bytes | None] | None = None, message: str = "change",
               date: int | None = None) -> str:
        """Write `files`, stage everything and commit with a distinct, deterministic date. Returns the commit id."""
        if files:
            self.write(files)
        self.git("add", "-A")
        when = f"{date if date is not None else next(_clock)} +0000"
        self.git("commit", "-q", "--allow-empty", "-m", message,
                 env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def tree(self, rev: str, path: str = "") -> str | None:
        spec = f"{rev}:{path}" if path else f"{rev}^{{tree}}"
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", spec], cwd=self.path, capture_output=True)
        return proc.stdout.decode().strip() or None
