"""Driving the real Flyway (tests/flyway/FlywayRunner.java) from the differential tests.

`scripts/ensure-flyway` (also `make flyway`) installs it into `.flyway/`: the jars from tests/flyway/pom.xml and the
compiled runner. `RealFlyway.run(cases)` sends a whole batch of cases to the test process's one JVM, kept warm
between batches (start-up and class loading cost about a second), and returns one dict per case: `{"migrations": [...]}`, `{"migrated": n, ...}`,
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
    """One JVM per test process, started on first use and kept warm: each `run` sends a batch and reads its answer
    (the runner's framing: a batch ends with "@@end", an answer with "@@done"). Flyway's own logging goes to a file,
    so a full pipe can never stall it; its tail is shown when the JVM fails."""

    def __init__(self) -> None:
        self.java = shutil.which("java") or "java"
        self.version: str | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            import tempfile

            self._log = tempfile.TemporaryFile()
            classpath = f"{HOME / 'classes'}:{HOME / 'lib'}/*"
            self._proc = subprocess.Popen(
                [self.java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath, "FlywayRunner"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True, encoding="utf-8",
                env={**os.environ, "LC_ALL": "C.UTF-8"})
        return self._proc

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def run(self, cases: list[Case]) -> list[dict]:
        lines = [f"cases={len(cases)}"]
        for i, case in enumerate(cases):
            lines.append(f"{i}.command={case.command}")
            if case.config_file is not None:
                lines.append(f"{i}.configFile={_escape(str(case.config_file))}")
            for key, value in case.conf.items():
                lines.append(f"{i}.conf.{_escape('flyway.' + key)}={_escape(value)}")
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        import threading

        watchdog = threading.Timer(300, proc.kill)  # a hung JVM fails the test instead of hanging the suite
        watchdog.start()
        try:
            proc.stdin.write("\n".join(lines) + "\n@@end\n")
            proc.stdin.flush()
        except BrokenPipeError:
            watchdog.cancel()
            raise AssertionError(f"the Flyway runner died: {self._log_tail()}") from None
        answer_lines = []
        while True:
            line = proc.stdout.readline()
            if not line:
                watchdog.cancel()
                raise AssertionError(f"the Flyway runner died (or took over 300 s): {self._log_tail()}")
            if line.rstrip("\n") == "@@done":
                break
            answer_lines.append(line)
        watchdog.cancel()
        answer = json.loads("".join(answer_lines))
        self.version = answer["flyway"]
        assert len(answer["results"]) == len(cases)
        return answer["results"]

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        if self._log is not None:
            self._log.close()
