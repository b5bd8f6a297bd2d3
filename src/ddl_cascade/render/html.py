"""The dashboard page: one self-contained HTML file from a status document (`report --html`, `serve`).

The page is a shell (Jinja2, autoescaped) holding three inline parts: the stylesheet, the script, and the data, a
`<script type="application/json">` block with the status document and the trend points. The script draws everything
from that data in the browser: the counts, the SVG pictures, and the table of children, whose rows are made only for
the lines in view (a table of 10,000 children costs what 40 rows cost), always with `textContent`, never HTML from
data. The data block cannot end early or run as script: every `<`, `>` and `&` in it is a JSON `\\u` escape, as are
U+2028 and U+2029.

Nothing on the page may reach the network: a Content-Security-Policy meta tag allows only the one script and the one
stylesheet (by their SHA-256, computed here) and images from `data:`; the live page may also fetch its own
`status.json` (`connect-src 'self'`). Values were redacted by render/json.py; they are redacted again here, because a
`--from` file may come from anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from ddl_cascade.redact import redact_data
from ddl_cascade.render.snapshot import Point


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("ddl_cascade.render", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    from importlib import resources

    return resources.files("ddl_cascade.render").joinpath("templates", name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: no `<`, `>` or `&` (so no `</script>` or `<!--`), and no
    U+2028/U+2029 (line terminators in older JavaScript)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def page(doc: dict[str, Any], trend: list[Point] = (), live_interval: float | None = None,
         redacted: bool = False) -> str:
    """The page for status document `doc` (plain data, as render/json.py writes it). `trend`: earlier points for
    the chart of states over time. `live_interval`: the page is served by `serve`, polls `status.json` this often
    (seconds) and redraws without a reload. `redacted`: the caller already redacted `doc` (snapshot.read, take)."""
    if not redacted:
        doc = redact_data(doc)
    css, js = _asset("dashboard.css"), _asset("dashboard.js")
    connect = "'self'" if live_interval is not None else "'none'"
    policy = (f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; img-src data:; "
              f"connect-src {connect}; base-uri 'none'; form-action 'none'")
    data = {"status": doc, "trend": [p.data() for p in trend],
            "live": None if live_interval is None else {"interval": live_interval}}
    return _environment().get_template("index.html.j2").render(
        policy=policy, css=css, js=js, data=script_json(data), doc=doc, live=live_interval is not None)
