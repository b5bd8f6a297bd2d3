"""`ddl-cascade serve`: the dashboard, live, on a read-only HTTP server (the standard library's ThreadingHTTPServer).

One background thread takes a snapshot (`status`, which holds the parent lock like every run, so a `sync` and a
refresh never interleave) every `interval` seconds, one at a time: the next refresh starts `interval` seconds after
the previous one ended. Until the first snapshot exists, nothing is served but a 503. A refresh that fails keeps the
last good snapshot and says why on stderr. The page polls `/status.json` and redraws without a reload.

The server answers GET and HEAD for exactly three paths (`/`, `/index.html`, `/status.json`) from memory, and
405 for any other method: it never reads a file named by a request. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from ddl_cascade.errors import CascadeError, say
from ddl_cascade.redact import redact
from ddl_cascade.render import html
from ddl_cascade.render.snapshot import Point, point

MAX_TREND = 500  # points of the trend chart kept in memory
WAITING = ('<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="2">'
           '<title>ddl-cascade</title><p>Reading the children for the first snapshot&hellip;</p>\n')


@dataclass
class Live:
    """The current snapshot and the trend of earlier ones, swapped whole under a lock by the refresher."""

    interval: float
    trend: list[Point] = field(default_factory=list)
    doc: dict[str, Any] | None = None
    page: bytes = b""
    body: bytes = b""
    etag: str = ""  # of the snapshot: the page's poll revalidates and gets a 304 until it changes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, doc: dict[str, Any]) -> None:
        with self.lock:
            previous = self.doc
        trend = list(self.trend)
        if previous is not None:
            trend = (trend + [point(previous)])[-MAX_TREND:]
        page = html.page(doc, trend, live_interval=self.interval, redacted=True).encode("utf-8")
        body = json.dumps(doc, ensure_ascii=False).encode("utf-8")  # compact: the C encoder, ~10x faster
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        with self.lock:
            self.doc, self.trend, self.page, self.body, self.etag = doc, trend, page, body, etag

    def get(self, path: str) -> tuple[bytes, str, str] | None:
        """(body, content type, etag) for `path`; ("", "", "") for an unknown path; None before the first snapshot."""
        with self.lock:
            if self.doc is None:
                return None
            if path in ("/", "/index.html"):
                return self.page, "text/html; charset=utf-8", ""
            if path == "/status.json":
                return self.body, "application/json", self.etag
        return b"", "", ""


class Refresher(threading.Thread):
    """Takes a snapshot now, then every `interval` seconds after the last one ended, until stopped."""

    def __init__(self, live: Live, take: Callable[[], dict[str, Any]]) -> None:
        super().__init__(name="ddl-cascade-refresh", daemon=True)
        self.live, self.take = live, take
        self.stopped = threading.Event()
        self.first = threading.Event()  # set once the first refresh ended, well or not
        self._one_at_a_time = threading.Lock()

    def refresh(self) -> None:
        with self._one_at_a_time:
            try:
                self.live.publish(self.take())
            except (CascadeError, OSError) as exc:
                say(redact(f"serve: the refresh failed, the page keeps the last snapshot: {exc}"))
            except Exception as exc:  # a git or database failure must not end the server
                say(redact(f"serve: the refresh failed ({type(exc).__name__}), the page keeps the last snapshot: "
                           f"{exc}"))

    def run(self) -> None:
        while not self.stopped.is_set():
            self.refresh()
            self.first.set()
            self.stopped.wait(self.live.interval)


def _handler(live: Live) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ddl-cascade"
        sys_version = ""

        def _answer(self, with_body: bool) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            found = live.get(path)
            if found is None:  # the page reloads itself until the first snapshot is there
                self._plain(HTTPStatus.SERVICE_UNAVAILABLE, WAITING, with_body, retry=True,
                            kind="text/html; charset=utf-8")
                return
            body, kind, etag = found
            if not kind:
                self._plain(HTTPStatus.NOT_FOUND, "not found: this server has /, /index.html and /status.json\n",
                            with_body)
                return
            if etag and self.headers.get("If-None-Match") == etag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", "no-cache")  # keep it, but ask each time
            else:
                self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def _plain(self, status: HTTPStatus, text: str, with_body: bool = True, retry: bool = False,
                   kind: str = "text/plain; charset=utf-8") -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if retry:
                self.send_header("Retry-After", "2")
            if status is HTTPStatus.METHOD_NOT_ALLOWED:
                self.send_header("Allow", "GET, HEAD")
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (the standard library's names)
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

        def _refuse(self) -> None:
            self._plain(HTTPStatus.METHOD_NOT_ALLOWED, "this server is read-only: GET and HEAD only\n")

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the page polls; a line per request would drown stderr

    return Handler


def serve(take: Callable[[], dict[str, Any]], host: str, port: int, interval: float,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve the live page until Ctrl-C or SIGTERM; `take()` returns a fresh status document (plain data)."""
    live = Live(interval)
    try:
        server = ThreadingHTTPServer((host, port), _handler(live))
    except OSError as exc:
        raise CascadeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    server.daemon_threads = True
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    refresher = Refresher(live, take)
    web = threading.Thread(target=server.serve_forever, name="ddl-cascade-http", daemon=True)
    try:
        refresher.start()
        web.start()
        name = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_address[1]}/"
        while not stop.is_set() and not refresher.first.wait(0.2):
            pass  # announced once the first snapshot is there (the page answers 503 until then)
        if ready and not stop.is_set():
            ready(name)
        while not stop.wait(0.5):
            pass
    finally:
        refresher.stopped.set()
        server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        refresher.join(timeout=10)  # a refresh in flight finishes its git calls; it is not waited for longer
        sys.stderr.flush()
