"""Time the dashboard of a 10,000-child cascade in headless Chromium (target: first paint < 1 s on this machine).

A synthetic `status --json` document of N children (tests/synthetic_status.py, held to the shipped schema) is
rendered by `python -m ddl_cascade report --html DIR --from FILE`, exactly as CI would call it, and opened in
Debian's Chromium through Playwright. Reported, as the median of --runs page loads: first contentful paint, the
load event, and a search over all children. The real alternative is measured in the same run: the same children as
10,000 server-side table rows (one static <table>, what a template that loops over the children writes), opened the
same way; the ratio says what rendering only the rows in view buys.

    .venv/bin/python bench/report.py [--children 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import html
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from browser import launch  # noqa: E402
from synthetic_status import synthetic  # noqa: E402

from ddl_cascade.render.snapshot import check  # noqa: E402

PAINT = ("performance.getEntriesByType('paint').filter(e => e.name === 'first-contentful-paint')"
         ".map(e => e.startTime)[0]")
LOAD = "performance.getEntriesByType('navigation')[0].loadEventEnd"


def static_table(doc: dict) -> str:
    """The alternative: every child as a row of one server-rendered table (escaped, no script)."""
    rows = "".join(
        f"<tr><td>{html.escape(c['name'])}</td><td>{c['state']}</td><td>{html.escape(c['channel'] or '')}</td>"
        f"<td>{(c['target'] or '')[:12]}</td><td>{'' if c['behind_by'] is None else c['behind_by']}</td>"
        f"<td>{len(c['changed_paths'] or [])}</td><td>{' '.join(map(html.escape, c['tags']))}</td></tr>"
        for c in doc["children"])
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>table</title><style>td{padding:4px 8px;"
            "border-bottom:1px solid #ddd;font:14px system-ui}</style></head><body><h1>children</h1><table>"
            f"{rows}</table></body></html>")


def measure(browser, url: str, runs: int, search: bool) -> dict[str, float]:
    paints, loads, searches = [], [], []
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        page.wait_for_load_state("load")
        paints.append(page.evaluate(PAINT))
        loads.append(page.evaluate(LOAD))
        if search:
            searches.append(page.evaluate("""() => { const s = document.getElementById('search');
                const t = performance.now(); s.value = 'svc-09'; s.dispatchEvent(new Event('input'));
                return performance.now() - t; }"""))
        page.close()
    out = {"first_paint_ms": statistics.median(paints), "load_ms": statistics.median(loads)}
    if searches:
        out["search_ms"] = statistics.median(searches)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    doc = synthetic(args.children)
    check(doc, "the synthetic document")
    with tempfile.TemporaryDirectory(prefix="ddl-cascade-bench-report-") as tmp:
        folder = Path(tmp)
        (folder / "status.json").write_text(json.dumps(doc))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ddl_cascade", "report", "--html", str(folder / "site"), "--from",
                        str(folder / "status.json")], check=True, capture_output=True)
        rendered = time.perf_counter() - start
        (folder / "table.html").write_text(static_table(doc))
        size = (folder / "site" / "index.html").stat().st_size
        with sync_playwright() as playwright:
            browser = launch(playwright)
            ours = measure(browser, (folder / "site" / "index.html").as_uri(), args.runs, search=True)
            table = measure(browser, (folder / "table.html").as_uri(), args.runs, search=False)
            browser.close()
    print(f"dashboard of {args.children:,} children (median of {args.runs} loads in headless Chromium):")
    print(f"  report --html: {rendered:.2f} s (process start included), index.html {size / 1e6:.1f} MB")
    print(f"  first contentful paint: {ours['first_paint_ms']:.0f} ms (target < 1000 ms); load event "
          f"{ours['load_ms']:.0f} ms; a search over all children {ours['search_ms']:.0f} ms")
    print(f"  alternative, {args.children:,} server-side table rows: first paint {table['first_paint_ms']:.0f} ms, "
          f"load {table['load_ms']:.0f} ms")
    print(f"  ratio (table / dashboard): first paint {table['first_paint_ms'] / ours['first_paint_ms']:.1f}x, "
          f"load {table['load_ms'] / ours['load_ms']:.1f}x")
    return 0 if ours["first_paint_ms"] < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
