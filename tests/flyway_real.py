"""Driving the real Flyway (tests/flyway/FlywayRunner.java) from the differential tests.

`scripts/ensure-flyway` (also `make flyway`) installs it into `.flyway/`: the jars from tests/flyway/pom.xml and the
compiled runner. `RealFlyway.run(cases)` sends a whole batch of cases to one JVM (start-up costs about a second, so
never one JVM per case) and returns one dict per case: `{"migrations": [...]}`, `{"migrated": n, ...}`,
`{"valid": bool, "invalid": [...]}` or `{"error": message, "class": exception}`.
"""

from __future__ import annotations

import fcntl
import os
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("FLYWAY_DIR", ROOT / ".flyway")).resolve()  # as scripts/ensure-flyway


class FlywayUnavailable(Exception):
    pass


def install() -> None:
    """Install (or check) the real Flyway once, whichever xdist worker comes first; a clear error when impossible."""
    HOME.mkdir(exist_ok=True)
    with open(HOME / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-flyway")], capture_output=True, text=True,
                              timeout=900)
    if proc.returncode != 0:
        message = (proc.stderr.strip().splitlines() or ["ensure-flyway failed"])[-1]
        raise FlywayUnavailable(f"the real Flyway is not installed for the tests: {message}")


@dataclass
class Case:
    """One Flyway call: `command` (info, validate, migrate, …, settings) with Flyway configuration keys (`flyway.`
    added); `config_file`: a flyway.toml or flyway.conf that Flyway reads first, as its command line does, from that
    file's folder (the conf keys then only say how to connect)."""

    command: str
    conf: dict[str, str] = field(default_factory=dict)
    config_file: str | None = None


def jdbc(url: str) -> dict[str, str]:
    """Flyway's url/user/password for a postgresql:// URL."""
    parts = urlsplit(url)
    return {"url": f"jdbc:postgresql://{parts.hostname}:{parts.port}{parts.path}", "user": parts.username or "",
            "password": parts.password or ""}


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\=:#!":
            out.append("\\" + ch)
        elif ch == " ":
            out.append("\\ ")
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            for unit in range(0, len(ch.encode("utf-16-be")), 2):
                out.append("\\u" + ch.encode("utf-16-be")[unit:unit + 2].hex())
    return "".join(out)


class RealFlyway:
    def __init__(self) -> None:
        self.java = shutil.which("java") or "java"
        self.version: str | None = None

    def run(self, cases: list[Case]) -> list[dict]:
        lines = [f"cases={len(cases)}"]
        for i, case in enumerate(cases):
            lines.append(f"{i}.command={case.command}")
            if case.config_file is not None:
                lines.append(f"{i}.configFile={_escape(case.config_file)}")
            for key, value in case.conf.items():
                lines.append(f"{i}.conf.{_escape('flyway.' + key)}={_escape(value)}")
        classpath = f"{HOME / 'classes'}:{HOME / 'lib'}/*"
        proc = subprocess.run([self.java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath, "FlywayRunner"],
                              input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=180,
                              env={**os.environ, "LC_ALL": "C.UTF-8"})
        assert proc.returncode == 0, proc.stderr[-4000:]
        answer = json.loads(proc.stdout)
        self.version = answer["flyway"]
        assert len(answer["results"]) == len(cases)
        return answer["results"]
