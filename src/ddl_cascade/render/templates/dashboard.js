// The dashboard: draws the counts, the SVG pictures and the table of children from the JSON block #data.
// Data only ever reaches the page through textContent, attribute setters of plain values, and SVG presentation
// attributes: never innerHTML. Rows are made only for the lines in view (the table stays fast at 10,000 children).
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var STATES = ["unreachable", "drifted", "behind", "not_added", "ahead", "in_sync"];
  var RANK = {unreachable: 0, drifted: 1, behind: 2, not_added: 2, ahead: 3, in_sync: 4};
  var COLOUR = {in_sync: "#16a34a", ahead: "#0ea5e9", behind: "#f59e0b", drifted: "#dc2626", not_added: "#8b5cf6",
                unreachable: "#9f1239"};
  var COLUMNS = [
    {key: "name", label: "child"}, {key: "state", label: "state"}, {key: "channel", label: "channel"},
    {key: "target", label: "target"}, {key: "behind_by", label: "behind"}, {key: "drift", label: "drifted"},
    {key: "pr", label: "pull request"}, {key: "db", label: "database"}, {key: "tags", label: "tags"}
  ];
  var data = JSON.parse(document.getElementById("data").textContent);
  var doc = data.status;
  var trend = data.trend || [];
  var view = {search: "", state: "", channel: "", tag: "", sort: "rank", desc: false, selected: null};
  var rows = [];  // the filtered, sorted children
  var ROW = 34;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, String(attrs[k])); } }
    if (text !== undefined) { e.textContent = String(text); }
    return e;
  }
  function short(oid) { return oid ? String(oid).slice(0, 12) : "-"; }
  function stateClass(s) { return COLOUR[s] ? "s-" + s : "s-other"; }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : (many || one + "s")); }
  function safeUrl(u) { return typeof u === "string" && /^https?:\/\//i.test(u) ? u : null; }

  // --- derived values of a child, shared by the table, sorting and the details --------------------------------------
  function dbText(c) {
    var d = c.database;
    if (!d) { return ""; }
    var parts = [d.environment + ": " + (d.current_version ? "v" + d.current_version : "empty")];
    if (d.error) { parts.push("unreadable"); }
    if (d.failed) { parts.push(d.failed + " failed"); }
    if (d.mismatches) { parts.push(d.mismatches + " mismatched"); }
    if (d.pending) { parts.push(d.pending + " pending"); }
    return parts.join(" · ");
  }
  function prText(c) {
    var p = c.pull_request;
    return p ? "#" + p.number + " " + p.state + ", " + plural(p.age_days, "day") : "";
  }
  function sortValue(c, key) {
    switch (key) {
      case "rank": return [RANK[c.state] === undefined ? 2 : RANK[c.state], c.name];
      case "state": return [c.state, c.name];
      case "behind_by": return [c.behind_by === null ? -1 : c.behind_by, c.name];
      case "drift": return [c.changed_paths ? c.changed_paths.length : -1, c.name];
      case "pr": return [c.pull_request ? c.pull_request.age_days : -1, c.name];
      case "db": return [dbText(c), c.name];
      case "tags": return [(c.tags || []).join(","), c.name];
      case "target": return [c.target || "", c.name];
      case "channel": return [c.channel || "", c.name];
      default: return [String(c[key] === undefined || c[key] === null ? "" : c[key]), c.name];
    }
  }
  function compare(a, b) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] < b[i]) { return -1; }
      if (a[i] > b[i]) { return 1; }
    }
    return 0;
  }

  // --- the counts -----------------------------------------------------------------------------------------------------
  function countStates(children) {
    var n = {};
    STATES.forEach(function (s) { n[s] = 0; });
    children.forEach(function (c) { n[c.state] = (n[c.state] || 0) + 1; });
    return n;
  }
  function drawCounts() {
    var box = $("states");
    box.textContent = "";
    var n = countStates(doc.children);
    var all = el("div", "card" + (view.state === "" ? " on" : ""));
    all.appendChild(el("div", "n", doc.children.length));
    all.appendChild(el("div", "l", "children"));
    all.addEventListener("click", function () { setFilter("state", ""); });
    box.appendChild(all);
    Object.keys(n).forEach(function (s) {
      var card = el("div", "card st-" + s + (n[s] ? "" : " zero") + (view.state === s ? " on" : ""));
      card.setAttribute("data-state", s);
      card.appendChild(el("div", "n", n[s]));
      card.appendChild(el("div", "l", s.replace("_", " ")));
      card.addEventListener("click", function () { setFilter("state", view.state === s ? "" : s); });
      box.appendChild(card);
    });
    var chans = $("channels");
    chans.textContent = "";
    (doc.channels || []).forEach(function (ch, i) {
      var members = doc.children.filter(function (c) { return c.channel === ch.name; });
      var synced = members.filter(function (c) { return c.state === "in_sync"; }).length;
      var card = el("div", "card channel" + (view.channel === ch.name ? " on" : ""));
      card.appendChild(el("div", "n", ch.name));
      card.appendChild(el("div", "l", "at " + short(ch.commit) + (i && ch.behind_first ?
        ", " + plural(ch.behind_first, "commit") + " behind " + doc.channels[0].name : "")));
      card.appendChild(el("div", "l", synced + " of " + plural(members.length, "child", "children") + " in sync"));
      card.addEventListener("click", function () { setFilter("channel", view.channel === ch.name ? "" : ch.name); });
      chans.appendChild(card);
    });
  }

  // --- the delivery branch as a timeline ----------------------------------------------------------------------------
  function drawTimeline() {
    var box = $("timeline");
    box.textContent = "";
    var commits = (doc.delivery_commits || []).slice();
    if (!commits.length) { commits = [doc.delivery_tip]; }
    var index = {};
    commits.forEach(function (c, i) { index[c] = i; });
    var at = {}, elsewhere = {}, older = 0, oldest = 0;
    doc.children.forEach(function (c) {
      if (c.delivered && index[c.delivered] !== undefined) {
        (at[c.delivered] = at[c.delivered] || []).push(c);
        oldest = Math.max(oldest, index[c.delivered]);
      } else if (c.delivered) {
        older += 1;
      } else {
        elsewhere[c.state] = (elsewhere[c.state] || 0) + 1;
      }
    });
    (doc.channels || []).forEach(function (ch) {
      if (index[ch.commit] !== undefined) { oldest = Math.max(oldest, index[ch.commit]); }
    });
    var shown = commits.slice(0, Math.max(oldest + 1, Math.min(commits.length, 8))).reverse();  // some context
    var W = 1000, H = 228, L = 30, R = 30, Y = 128;
    var step = shown.length > 1 ? (W - L - R) / (shown.length - 1) : 0;
    function x(i) { return shown.length > 1 ? L + i * step : W / 2; }
    var s = svg("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "delivery branch timeline"});
    s.appendChild(svg("line", {x1: L - 10, y1: Y, x2: W - R + 10, y2: Y, stroke: "#94a3b8", "stroke-width": 3,
                               "stroke-linecap": "round"}));
    var max = 1;
    Object.keys(at).forEach(function (k) { max = Math.max(max, at[k].length); });
    var flags = {};
    (doc.channels || []).forEach(function (ch) { (flags[ch.commit] = flags[ch.commit] || []).push(ch); });
    shown.forEach(function (commit, i) {
      var cx = x(i);
      var here = at[commit] || [];
      var tick = svg("circle", {cx: cx, cy: Y, r: 3, fill: "#64748b"});
      tick.appendChild(svg("title", {}, commit + (commit === doc.delivery_tip ? " (tip)" : "")));
      s.appendChild(tick);
      (flags[commit] || []).forEach(function (ch, k) {
        var top = 18 + k * 22;
        s.appendChild(svg("line", {x1: cx, y1: top, x2: cx, y2: Y - 6, stroke: "#2563eb", "stroke-width": 1.5,
                                   "stroke-dasharray": "3 3"}));
        var right = cx > W - 120;
        var label = svg("text", {x: right ? cx - 4 : cx + 7, y: top + 11, "font-size": 12, fill: "#1e3a8a",
                                 "font-weight": 600, "text-anchor": right ? "end" : "start"}, ch.name);
        label.appendChild(svg("title", {}, "channel " + ch.name + " (" + ch.branch + ") at " + ch.commit));
        s.appendChild(svg("rect", {x: cx, y: top, width: 3, height: 14, fill: "#2563eb"}));
        s.appendChild(label);
      });
      if (commit === doc.delivery_tip) {
        s.appendChild(svg("text", {x: cx, y: Y + 90, "font-size": 11, fill: "#475569", "text-anchor": "middle",
                                   "font-weight": 600}, "tip"));
      }
      if (!here.length) { return; }
      var byState = countStates(here), major = "in_sync", best = -1;
      Object.keys(byState).forEach(function (k) { if (byState[k] > best) { best = byState[k]; major = k; } });
      var r = 5 + 15 * Math.sqrt(here.length / max);
      var dot = svg("circle", {cx: cx, cy: Y, r: r, fill: COLOUR[major] || "#64748b", "fill-opacity": 0.85,
                               stroke: "#fff", "stroke-width": 1.5});
      var names = here.slice(0, 12).map(function (c) { return c.name; }).join(", ") +
        (here.length > 12 ? " and " + (here.length - 12) + " more" : "");
      var parts = Object.keys(byState).filter(function (k) { return byState[k]; })
        .map(function (k) { return byState[k] + " " + k; });
      dot.appendChild(svg("title", {}, short(commit) + ": " + plural(here.length, "child", "children") + " (" +
                                    parts.join(", ") + "): " + names));
      s.appendChild(dot);
      s.appendChild(svg("text", {x: cx, y: Y + 38, "font-size": 12, "text-anchor": "middle", fill: "#1f2933",
                                 "font-weight": 600}, here.length));
      if (step >= 70 || i % 2 === (shown.length - 1) % 2) {  // every commit id where they fit, else every other
        s.appendChild(svg("text", {x: cx, y: Y + 56 + (step < 70 || i % 2 === 0 ? 0 : 14), "font-size": 10,
                                   "text-anchor": "middle", fill: "#94a3b8"}, short(commit).slice(0, 7)));
      }
    });
    box.appendChild(s);
    var notes = Object.keys(elsewhere).map(function (k) { return elsewhere[k] + " " + k.replace("_", " "); });
    if (older) { notes.push(older + " on commits older than the " + commits.length + " shown"); }
    if (notes.length) { box.appendChild(el("p", "hint", "Not on the branch: " + notes.join(", ") + ".")); }
  }

  // --- children per state over time ---------------------------------------------------------------------------------
  function drawTrend() {
    var box = $("trend");
    box.textContent = "";
    var points = trend.slice();
    var now = {at: doc.generated_at, counts: countStates(doc.children)};
    if (now.at && !points.some(function (p) { return p.at === now.at; })) { points.push(now); }
    points.sort(function (a, b) { return Date.parse(a.at) - Date.parse(b.at); });
    if (points.length < 2) {
      box.appendChild(el("p", "empty", data.live ? "The trend appears after the next refresh." :
        "One snapshot so far: give report --html DIR --history FOLDER a folder of earlier status.json files."));
      return;
    }
    var W = 1000, H = 220, L = 46, R = 120, T = 12, B = 30;
    var t0 = Date.parse(points[0].at), t1 = Date.parse(points[points.length - 1].at);
    var top = 1;
    points.forEach(function (p) { STATES.forEach(function (s) { top = Math.max(top, p.counts[s] || 0); }); });
    function x(p) { return L + (t1 > t0 ? (Date.parse(p.at) - t0) / (t1 - t0) : 0.5) * (W - L - R); }
    function y(v) { return T + (1 - v / top) * (H - T - B); }
    var s = svg("svg", {viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "children per state over time"});
    [0, 0.5, 1].forEach(function (f) {
      var v = Math.round(top * f);
      s.appendChild(svg("line", {x1: L, y1: y(v), x2: W - R, y2: y(v), stroke: "#e3e7ec"}));
      s.appendChild(svg("text", {x: L - 6, y: y(v) + 4, "font-size": 11, "text-anchor": "end", fill: "#66727f"}, v));
    });
    s.appendChild(svg("text", {x: L, y: H - 8, "font-size": 11, fill: "#66727f"}, points[0].at));
    s.appendChild(svg("text", {x: W - R, y: H - 8, "font-size": 11, fill: "#66727f", "text-anchor": "end"},
                      points[points.length - 1].at));
    var legend = 0;
    STATES.forEach(function (st) {
      if (!points.some(function (p) { return p.counts[st]; })) { return; }
      var line = points.map(function (p) { return x(p).toFixed(1) + "," + y(p.counts[st] || 0).toFixed(1); });
      s.appendChild(svg("polyline", {points: line.join(" "), fill: "none", stroke: COLOUR[st], "stroke-width": 2.5,
                                     "stroke-linejoin": "round"}));
      points.forEach(function (p) {
        var c = svg("circle", {cx: x(p), cy: y(p.counts[st] || 0), r: 3, fill: COLOUR[st]});
        c.appendChild(svg("title", {}, p.at + ": " + (p.counts[st] || 0) + " " + st));
        s.appendChild(c);
      });
      s.appendChild(svg("rect", {x: W - R + 14, y: T + legend * 20, width: 12, height: 12, fill: COLOUR[st], rx: 2}));
      s.appendChild(svg("text", {x: W - R + 32, y: T + legend * 20 + 10, "font-size": 12, fill: "#1f2933"},
                        st.replace("_", " ")));
      legend += 1;
    });
    box.appendChild(s);
  }

  // --- the table ------------------------------------------------------------------------------------------------------
  function fillSelect(id, values, current) {
    var sel = $(id);
    while (sel.options.length > 1) { sel.remove(1); }
    values.forEach(function (v) {
      var o = el("option", null, v);
      o.value = v;
      sel.appendChild(o);
    });
    sel.value = values.indexOf(current) >= 0 ? current : "";
  }
  function drawFilters() {
    var states = {}, channels = {}, tags = {};
    doc.children.forEach(function (c) {
      states[c.state] = 1;
      if (c.channel) { channels[c.channel] = 1; }
      (c.tags || []).forEach(function (t) { tags[t] = 1; });
    });
    fillSelect("f-state", STATES.filter(function (s) { return states[s]; })
      .concat(Object.keys(states).filter(function (s) { return STATES.indexOf(s) < 0; })), view.state);
    fillSelect("f-channel", Object.keys(channels).sort(), view.channel);
    fillSelect("f-tag", Object.keys(tags).sort(), view.tag);
  }
  function drawHead() {
    var head = $("head");
    head.textContent = "";
    COLUMNS.forEach(function (col) {
      var cell = el("div", view.sort === col.key ? "sorted" + (view.desc ? " desc" : "") : "", col.label);
      cell.setAttribute("role", "columnheader");
      cell.setAttribute("data-key", col.key);
      cell.title = "sort by " + col.label;
      cell.addEventListener("click", function () {
        if (view.sort === col.key) { view.desc = !view.desc; } else { view.sort = col.key; view.desc = false; }
        refilter();
      });
      head.appendChild(cell);
    });
  }
  function refilter() {
    var q = view.search.toLowerCase();
    rows = doc.children.filter(function (c) {
      return (!q || c.name.toLowerCase().indexOf(q) >= 0) && (!view.state || c.state === view.state) &&
        (!view.channel || c.channel === view.channel) && (!view.tag || (c.tags || []).indexOf(view.tag) >= 0);
    });
    var keyed = rows.map(function (c) { return [sortValue(c, view.sort), c]; });
    keyed.sort(function (a, b) { return compare(a[0], b[0]); });
    if (view.desc) { keyed.reverse(); }
    rows = keyed.map(function (k) { return k[1]; });
    $("shown").textContent = rows.length === doc.children.length ? plural(rows.length, "child", "children") :
      rows.length + " of " + plural(doc.children.length, "child", "children");
    $("spacer").style.height = Math.max(rows.length * ROW, 1) + "px";
    $("viewport").style.height = Math.max(Math.min(rows.length, 18), 2) * ROW + "px";  // short lists stay short
    drawHead();
    drawCounts();
    drawRows(true);
  }
  function cells(c) {
    var out = [];
    var name = el("div", "name", c.name);
    name.title = c.name;
    out.push(name);
    var st = el("div");
    st.appendChild(el("span", "badge " + stateClass(c.state), c.state.replace("_", " ")));
    out.push(st);
    out.push(el("div", null, c.channel || ""));
    out.push(el("div", "mono", short(c.target) + (c.pinned ? " pin" : "")));
    out.push(el("div", null, c.behind_by === null || c.behind_by === undefined ? "" : c.behind_by));
    var drift = el("div", c.changed_paths && c.changed_paths.length ? "bad" : null,
                   c.changed_paths ? plural(c.changed_paths.length, "path") : "");
    out.push(drift);
    var pr = el("div");
    if (c.pull_request) {
      var href = safeUrl(c.pull_request.url);
      var link = el(href ? "a" : "span", null, prText(c));
      if (href) { link.href = href; link.rel = "noopener noreferrer"; link.target = "_blank"; }
      pr.appendChild(link);
    }
    out.push(pr);
    var d = c.database;
    var db = el("div", d && (!d.ok || d.error) ? "bad" : null, dbText(c));
    db.title = d ? dbText(c) + (d.error ? ": " + d.error : "") : "";
    out.push(db);
    var tags = el("div");
    (c.tags || []).forEach(function (t) { tags.appendChild(el("span", "tag", t)); });
    out.push(tags);
    if (c.error) { name.title = c.name + ": " + c.error; }
    return out;
  }
  function drawRows(reset) {
    var port = $("viewport");
    if (reset && port.scrollTop > rows.length * ROW) { port.scrollTop = 0; }
    var first = Math.max(0, Math.floor(port.scrollTop / ROW) - 6);
    var last = Math.min(rows.length, first + Math.ceil((port.clientHeight || 600) / ROW) + 12);
    var spacer = $("spacer");
    var old = port.querySelectorAll(".row");
    for (var i = 0; i < old.length; i++) { port.removeChild(old[i]); }
    var frag = document.createDocumentFragment();
    for (var r = first; r < last; r++) {
      var c = rows[r];
      var row = el("div", "row" + (view.selected === c.name ? " sel" : ""));
      row.setAttribute("role", "row");
      row.setAttribute("data-name", c.name);
      row.style.transform = "translateY(" + (r * ROW) + "px)";
      cells(c).forEach(function (cell) { row.appendChild(cell); });
      row.addEventListener("click", open.bind(null, c));
      frag.appendChild(row);
    }
    if (!rows.length) {
      var none = el("div", "nothing row", doc.children.length ? "No child matches." : "No children configured.");
      frag.appendChild(none);
    }
    port.insertBefore(frag, spacer);
  }

  // --- a child's details: every field the document has, drawn generically ------------------------------------------
  function flatten(value, prefix, out) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      Object.keys(value).forEach(function (k) { flatten(value[k], prefix ? prefix + "." + k : k, out); });
    } else if (Array.isArray(value) && value.some(function (v) { return v !== null && typeof v === "object"; })) {
      value.forEach(function (v, i) { flatten(v, prefix + "[" + i + "]", out); });
    } else {
      out.push([prefix, value]);
    }
    return out;
  }
  function open(c) {
    view.selected = c.name;
    $("d-name").textContent = c.name;
    var dl = $("d-fields");
    dl.textContent = "";
    flatten(c, "", []).forEach(function (kv) {
      if (kv[0] === "name") { return; }
      dl.appendChild(el("dt", null, kv[0]));
      var dd = el("dd");
      var v = kv[1];
      var href = /(^|\.)url$/.test(kv[0]) ? safeUrl(v) : null;
      if (href) {
        var a = el("a", null, v);
        a.href = href; a.rel = "noopener noreferrer"; a.target = "_blank";
        dd.appendChild(a);
      } else if (Array.isArray(v)) {
        if (!v.length) { dd.textContent = "none"; }
        v.forEach(function (item) { dd.appendChild(el("div", null, item)); });
      } else {
        dd.textContent = v === null || v === undefined ? "-" : String(v);
      }
      dl.appendChild(dd);
    });
    $("details").hidden = false;
    drawRows(false);
  }
  function close() {
    view.selected = null;
    $("details").hidden = true;
    drawRows(false);
  }

  function setFilter(which, value) {
    view[which] = value;
    var sel = $("f-" + which);
    if (sel) { sel.value = value; }
    refilter();
  }

  function drawAll() {
    $("generated").textContent = doc.generated_at || "at an unknown time";
    drawFilters();
    drawTimeline();
    drawTrend();
    refilter();
    if (view.selected) {
      var c = doc.children.filter(function (x) { return x.name === view.selected; })[0];
      if (c) { open(c); } else { close(); }
    }
  }

  // --- wiring ---------------------------------------------------------------------------------------------------------
  var pending = false;
  $("viewport").addEventListener("scroll", function () {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; drawRows(false); });
  });
  $("search").addEventListener("input", function (e) { view.search = e.target.value; refilter(); });
  ["state", "channel", "tag"].forEach(function (which) {
    $("f-" + which).addEventListener("change", function (e) { setFilter(which, e.target.value); });
  });
  $("close").addEventListener("click", close);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { close(); } });
  drawAll();

  // --- the live page (`ddl-cascade serve`): poll status.json, redraw when the snapshot changed ----------------------
  if (data.live) {
    var every = Math.min(Math.max(data.live.interval / 2, 1), 30) * 1000;
    var poll = function () {
      fetch("status.json", {cache: "no-cache"}).then(function (r) {  // revalidated: a 304 until it changes
        if (!r.ok) { throw new Error("status.json answered " + r.status); }
        return r.json();
      }).then(function (next) {
        $("live").className = "live";
        // refreshes are at least a second apart, so the time (to the second) names the snapshot
        if (next.generated_at ? next.generated_at === doc.generated_at :
            JSON.stringify(next) === JSON.stringify(doc)) { return; }
        if (doc.generated_at && !trend.some(function (p) { return p.at === doc.generated_at; })) {
          trend.push({at: doc.generated_at, counts: countStates(doc.children)});
        }
        doc = next;
        drawAll();
      }).catch(function () { $("live").className = "live stale"; })
        .then(function () { window.setTimeout(poll, every); });
    };
    window.setTimeout(poll, every);
  }
}());
