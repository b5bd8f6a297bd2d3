"""The dashboard without a browser: `report --html` from a real cascade, `report --format markdown`, the snapshot's
schema, bad input, and `serve` as an HTTP server (read-only, under the parent lock, stopped by SIGTERM). The page in
a real browser: tests/test_dashboard_browser.py."""

from __future__ import annotations

import html
import http.client
import json
import re
import signal
import time
from pathlib import Path

import jsonschema
from cascade_world import PREFIX, make_world
from synthetic_status import synthetic
from test_dashboard_browser import _serve

from ddl_cascade.cascade.commands import sync
from ddl_cascade.lock import parent_lock
from ddl_cascade.render.html import script_json
from ddl_cascade.render.problems import LIMIT, markdown
from ddl_cascade.render.schema import shipped

SECRET = "https://x-access-token:s3cret@127.0.0.1:9/x.git"


def _status_schema() -> dict:
    return json.loads(shipped("status"))


def _cascade(tmp_path):
    """synced (in sync), behind (one delivery behind) and drifted (its read-only folder edited), plus one that
    cannot be reached through a URL with a password."""
    world = make_world(tmp_path, {"synced": "squash", "behind": "squash", "drifted": "squash"})
    world.extra = [("gone", SECRET)]
    config = world.config()
    assert sync(config, ["synced", "behind", "drifted"]).ok
    clone = world.clone("drifted")
    clone.commit({f"{PREFIX}/sql/V9__mine.sql": "select 9;\n"}, "hand edit")
    clone.git("push", "-q", "origin", "HEAD:main")
    world.deliver({"sql/V3__third.sql": "create table t3 (id int);\n"}, "V3")
    assert sync(config, ["synced"]).ok
    return world


def test_report_of_a_real_cascade(tmp_path, cli):
    world = _cascade(tmp_path)
    out = tmp_path / "site"
    made = cli("report", "--html", str(out), "--config", str(world.config_path))
    assert made.code == 0, made
    doc = json.loads((out / "status.json").read_text())
    jsonschema.validate(doc, _status_schema())
    by = {c["name"]: c for c in doc["children"]}
    assert {n: c["state"] for n, c in by.items()} == {"synced": "in_sync", "behind": "behind", "drifted": "drifted",
                                                      "gone": "unreachable"}
    tip = world.parent.git("rev-parse", "ro-shared-ddl").strip()
    assert doc["delivery_commits"][0] == tip and by["synced"]["delivered"] == tip
    assert by["behind"]["delivered"] == doc["delivery_commits"][1] and by["drifted"]["delivered"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["generated_at"])

    page = (out / "index.html").read_text()
    assert "s3cret" not in page + made.stdout + made.stderr and "s3cret" not in (out / "status.json").read_text()
    policy = html.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)[1])
    assert policy.startswith("default-src 'none'; script-src 'sha256-") and "connect-src 'none'" in policy
    # self-contained: no element loads anything (no src=, no <link>, no url() in the stylesheet)
    assert not re.search(r"(?i:<(?:img|iframe|object|embed)\b|\bsrc=|\bhref=\"(?!data:))|\burl\(", page)

    text = cli("report", "--format", "markdown", "--config", str(world.config_path))
    assert text.code == 0, text
    assert "`ddl-cascade sync behind`" in text.stdout
    assert "`ddl-cascade reset drifted --yes`" in text.stdout and "V9__mine.sql" in text.stdout
    assert "`ddl-cascade doctor gone`" in text.stdout and "s3cret" not in text.stdout
    assert "`synced`" not in text.stdout  # problems only


def test_markdown_lists_the_problems_with_their_fixes_and_stays_under_the_limit():
    doc = synthetic(300)
    clean = dict(doc, children=[dict(c, state="in_sync", database=None, pull_request=None)
                                for c in doc["children"]])
    assert "No problems" in markdown(clean)

    text = markdown(doc)
    db_broken = [c for c in doc["children"] if c["database"] and not c["database"]["ok"]][0]
    env = db_broken["database"]["environment"]
    assert f"`ddl-cascade db repair --child {db_broken['name']} --env {env}`" in text
    stale = [c for c in doc["children"] if c["pull_request"] and c["pull_request"]["age_days"] >= 7][0]
    assert f"/pull/{stale['pull_request']['number']}>)" in text

    closed = [c for c in doc["children"] if c["pull_request"]][1]
    closed["pull_request"]["state"] = "closed"
    text = markdown(doc)
    assert f"was closed without merging; to deliver again: `ddl-cascade sync {closed['name']} --reopen`" in text
    problems = [c for c in doc["children"] if c["state"] != "in_sync"]
    problems += [c for c in doc["children"] if c["database"] and not c["database"]["ok"]]
    problems += [c for c in doc["children"] if c["pull_request"] and (c["pull_request"]["age_days"] >= 7
                                                                      or c["pull_request"]["state"] == "closed")]
    assert text.count("\n- ") == len(problems)

    big = synthetic(10_000)
    text = markdown(big)
    assert len(text) < LIMIT
    shown = text.count("\n- ")
    total = sum(1 for c in big["children"] if c["state"] != "in_sync") \
        + sum(1 for c in big["children"] if c["database"] and not c["database"]["ok"]) \
        + sum(1 for c in big["children"] if c["pull_request"] and c["pull_request"]["age_days"] >= 7)
    assert f"… and {total - shown} more problems not shown" in text


def test_markdown_shows_names_as_code():
    doc = synthetic(3)
    doc["children"][1].update(name="a`b <script>x</script> | c", state="behind", behind_by=2)
    text = markdown(doc)
    line = [x for x in text.splitlines() if "script" in x][0]
    assert line.startswith("- ``a`b <script>x</script> | c``") and "sync 'a`b <script>x</script> | c'" in line


def test_script_json_cannot_end_its_script_element():
    value = {"name": "</script><script>alert(1)</script><!--", "sep": "a\u2028b\u2029c", "amp": "&lt;"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == value


def test_bad_input_is_one_sentence(tmp_path, cli):
    not_json = tmp_path / "x.json"
    not_json.write_text("{not json")
    sync_doc = tmp_path / "sync.json"
    sync_doc.write_text(json.dumps({"schema_version": 1, "delivery_branch": "d", "delivery_tip": "t",
                                    "delivered_tree": "x", "dry_run": False, "ok": True, "children": []}))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(synthetic(4)))
    first, second = shard_parts(synthetic(4), 2)
    (tmp_path / "first.json").write_text(json.dumps(first))
    other = dict(second, delivery_tip="0" * 40)
    (tmp_path / "other.json").write_text(json.dumps(other))
    history = tmp_path / "history"
    history.mkdir()
    (history / "old.json").write_text("[]")
    out = str(tmp_path / "site")
    cases = [
        (["report", "--html", out, "--from", str(not_json)], "is not JSON"),
        (["report", "--html", out, "--from", str(sync_doc)], "is not a `ddl-cascade status --json` document"),
        (["report", "--html", out, "--from", str(tmp_path / "missing.json")], "does not exist"),
        (["report", "--html", out, "--from", str(good), "--from", str(good)], "is not the document of a run with --shard"),
        (["report", "--html", out, "--from", str(tmp_path / "first.json"), "--from", str(tmp_path / "first.json")],
         "give each shard's document once"),
        (["report", "--html", out, "--from", str(tmp_path / "first.json"), "--from", str(tmp_path / "other.json")],
         "deliver one commit"),
        (["report", "--html", out, "--from", str(good), "--history", str(history)], "old.json is not a"),
        (["report", "--from", str(good)], "say what to make"),
        (["report", "--format", "html", "--from", str(good)], "--format 'html' is not known"),
    ]
    for args, words in cases:
        got = cli(*args)
        assert got.code == 2 and words in got.stderr, (args, got)
        assert "Traceback" not in got.stderr and len(got.stderr.strip().splitlines()) == 1, got


def shard_parts(doc: dict, count: int) -> list[dict]:
    """`doc` cut as `status --shard K/N` would print its parts (children dealt round, positions kept)."""
    children = doc["children"]
    return [dict(doc, children=children[k - 1::count],
                 shard={"index": k, "count": count, "command": "status", "selected": len(children),
                        "positions": list(range(k - 1, len(children), count))})
            for k in range(1, count + 1)]


def test_from_joins_the_parts_of_one_run(tmp_path, cli):
    doc = synthetic(6)
    a, b = shard_parts(doc, 2)[::-1]  # shard 2 first: the order given does not matter
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    got = cli("report", "--html", str(tmp_path / "site"), "--from", str(tmp_path / "a.json"),
              "--from", str(tmp_path / "b.json"))
    assert got.code == 0, got
    joined = json.loads((tmp_path / "site" / "status.json").read_text())
    jsonschema.validate(joined, _status_schema())
    assert [c["name"] for c in joined["children"]] == [c["name"] for c in doc["children"]]
    assert joined["shard"] is None and [(s["index"], s["children"]) for s in joined["shards"]] == [(1, 3), (2, 3)]


def _request(url: str, path: str, method: str = "GET", headers: dict | None = None):
    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(method, path, headers=headers or {})
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    return answer, body


def _get(url: str, path: str, method: str = "GET", headers: dict | None = None) -> tuple[int, bytes]:
    answer, body = _request(url, path, method, headers)
    return answer.status, body


def _header(url: str, path: str, name: str) -> str | None:
    return _request(url, path)[0].getheader(name)


def test_serve_is_read_only_waits_for_the_lock_and_stops_on_sigterm(tmp_path):
    world = make_world(tmp_path, {"only": "squash"})
    assert sync(world.config()).ok
    proc, url = _serve(world.config_path, "--interval", "1")
    try:
        status, body = _get(url, "/status.json")
        assert status == 200
        first = json.loads(body)
        jsonschema.validate(first, _status_schema())
        assert [c["state"] for c in first["children"]] == ["in_sync"]
        assert _get(url, "/", "HEAD") == (200, b"")
        etag = _header(url, "/status.json", "ETag")
        assert etag and _get(url, "/status.json", headers={"If-None-Match": etag}) == (304, b"")
        assert _get(url, "/")[1].startswith(b"<!DOCTYPE html>")
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert _get(url, "/status.json", method)[0] == 405
        for path in ("/cascade.toml", "/../cascade.toml", "/%2e%2e/cascade.toml", "/etc/passwd", "//etc/passwd"):
            assert _get(url, path)[0] == 404, path

        # while another run holds the parent lock, no refresh happens; after, the snapshot moves on
        with parent_lock(world.config()):
            time.sleep(0.5)
            held = json.loads(_get(url, "/status.json")[1])["generated_at"]
            time.sleep(2.5)
            assert json.loads(_get(url, "/status.json")[1])["generated_at"] == held
        deadline = time.monotonic() + 20
        while json.loads(_get(url, "/status.json")[1])["generated_at"] == held:
            assert time.monotonic() < deadline, "no refresh after the lock was released"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, proc.stderr.read()
    assert "Traceback" not in proc.stderr.read()


def test_the_shipped_page_parts_are_in_the_package():
    root = Path(__file__).resolve().parent.parent / "src" / "ddl_cascade" / "render" / "templates"
    assert {p.name for p in root.iterdir()} >= {"index.html.j2", "dashboard.css", "dashboard.js"}
    # data reaches the page only as text: no HTML parser is ever handed a string
    assert not re.search(r"\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|eval\(|new Function",
                         (root / "dashboard.js").read_text())
