"""What the local forges of the tests (tests/localforge.py: GitHub; tests/localforge_gitea.py: Gitea) share: git
plumbing in bare repositories (commits, merges and rebases made without a work tree), `git http-backend` serving
smart HTTP, and the bits of HTTP that `http.server` leaves to its handlers (chunked bodies, exact Content-Length)."""

from __future__ import annotations

import os
import subprocess
from http.server import BaseHTTPRequestHandler
from pathlib import Path


def git(cwd: Path | None, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(["git", *args], cwd=cwd, input=input, env=full_env, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed in a local forge: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def identity(author: tuple[str, str], committer: tuple[str, str] | None = None) -> dict:
    committer = committer or author
    return {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
            "GIT_COMMITTER_NAME": committer[0], "GIT_COMMITTER_EMAIL": committer[1]}


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=repo).returncode == 0


def replay(repo: Path, commit: str, onto: str, committer: tuple[str, str]) -> str | None:
    """Cherry-pick `commit` onto `onto` without a work tree; None on a conflict.

    git 2.39's `merge-tree --write-tree` has no `--merge-base`, so the merge base is forced: a throwaway commit with
    `onto`'s tree and `commit`'s parent makes that parent the only merge base of the two."""
    fields = git(repo, "log", "-1", "--format=%P%x00%an%x00%ae%x00%aI%x00%B", commit).split("\x00", 4)
    parents = fields[0].split()
    if len(parents) != 1:
        return None
    stand_in = git(repo, "commit-tree", f"{onto}^{{tree}}", "-p", parents[0], "-m", "stand-in",
                    env=identity(committer))
    merged = subprocess.run(["git", "merge-tree", "--write-tree", "--no-messages", stand_in, commit], cwd=repo,
                            capture_output=True, text=True)
    if merged.returncode != 0:
        return None
    tree = merged.stdout.split()[0]
    env = identity((fields[1], fields[2]), committer)
    env["GIT_AUTHOR_DATE"] = fields[3]
    return git(repo, "commit-tree", tree, "-p", onto, input=fields[4].encode(), env=env)


def read_body(h: BaseHTTPRequestHandler) -> bytes:
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length else b""


def send(h: BaseHTTPRequestHandler, status: int, headers: dict, data: bytes) -> None:
    h.send_response(status)
    for key, value in headers.items():
        if key.lower() not in ("content-length", "transfer-encoding", "connection"):
            h.send_header(key, value)
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(data)


def http_backend(h: BaseHTTPRequestHandler, root: Path, login: str, path: str, query: str, body: bytes) -> int:
    """Serve one smart-HTTP request for the bare repositories under `root` through `git http-backend`, as `login`
    (already authenticated); the status sent."""
    env = {
        "PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1",
        "REMOTE_USER": login, "REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": h.command,
        "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_TYPE": h.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)), "HTTP_CONTENT_ENCODING": h.headers.get("Content-Encoding", ""),
        "GIT_PROTOCOL": h.headers.get("Git-Protocol", ""), "HOME": os.environ.get("HOME", ""),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        env["GIT_CONFIG_GLOBAL"] = os.environ["GIT_CONFIG_GLOBAL"]
    out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
    head, _, payload = out.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key] = value.strip()
    send(h, status, headers, payload)
    return status


def utc_now() -> str:
    """Now, as the forges write times: ISO 8601 in UTC with a `Z`."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
