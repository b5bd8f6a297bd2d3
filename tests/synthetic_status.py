"""A synthetic `status --json` document of N children (no repositories): every state, channels, tags, pull requests
and databases, deterministic from a seed; the dashboard's scale test and bench/report.py render it. It is checked
against the shipped schema by whoever uses it (the schema, not this generator, says what a status document is)."""

from __future__ import annotations

import hashlib
import random

STATES = ["in_sync"] * 14 + ["behind"] * 3 + ["drifted", "not_added", "ahead", "unreachable"]


def oid(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def synthetic(n: int, seed: int = 16, generated_at: str = "2026-12-02T12:00:00Z") -> dict:
    rnd = random.Random(seed)
    commits = [oid(f"delivery {i}") for i in range(60)]  # newest first
    channels = [{"name": "dev", "branch": "ro-shared-ddl-dev", "commit": commits[0], "behind_first": 0},
                {"name": "staging", "branch": "ro-shared-ddl-staging", "commit": commits[4], "behind_first": 4},
                {"name": "prod", "branch": "ro-shared-ddl-prod", "commit": commits[11], "behind_first": 11}]
    children = []
    for i in range(n):
        channel = channels[i % 3]
        target = channel["commit"]
        state = rnd.choice(STATES)
        at = commits.index(target)
        behind = rnd.randint(1, 30) if state == "behind" else None
        delivered = {"in_sync": target, "behind": commits[min(at + (behind or 0), 59)],
                     "ahead": commits[max(at - 2, 0)]}.get(state)
        name = f"svc-{i:05d}"
        child = {
            "name": name, "state": state, "tip": None if state == "unreachable" else oid(name),
            "tree": None if state in ("unreachable", "not_added") else oid(name + "tree"),
            "behind_by": behind,
            "changed_paths": [f"read-only-flyway-files/sql/V{k}__x.sql" for k in range(rnd.randint(1, 4))]
            if state == "drifted" else None,
            "error": "git ls-remote failed: could not resolve host" if state == "unreachable" else None,
            "prefix": "read-only-flyway-files", "branch": "main", "target": target, "channel": channel["name"],
            "pinned": i % 97 == 0, "database": None, "pull_request": None,
            "tags": [["payments", "core"], ["search"], ["core"], []][i % 4], "delivered": delivered,
        }
        if i % 5 == 0:
            failed = 1 if i % 35 == 0 else 0
            child["database"] = {"environment": channel["name"], "target": "postgresql://app:***@db/x",
                                 "ok": not failed, "current_version": f"{rnd.randint(1, 40)}", "applied": 40,
                                 "pending": rnd.randint(0, 3), "failed": failed, "mismatches": 0,
                                 "problems": ["V41 failed"] if failed else [], "error": None,
                                 "drift": ["+ column public.orders.note"] if i % 13 == 0 else None}
        if i % 7 == 0 and state == "behind":
            child["pull_request"] = {"number": i, "url": f"https://github.example/org/{name}/pull/{i}",
                                     "state": "open", "age_days": rnd.randint(0, 20)}
        children.append(child)
    return {"schema_version": 1, "delivery_branch": "ro-shared-ddl", "delivery_tip": commits[0],
            "delivered_tree": oid("tree"), "ok": False, "children": children, "channels": channels,
            "delivery_commits": commits, "generated_at": generated_at, "shard": None, "shards": None}
