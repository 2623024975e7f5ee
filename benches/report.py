#!/usr/bin/env python3
"""Turns the JSON results of benches/compare.sh into Markdown tables and an SVG chart.

    python3 benches/report.py target/bench-compare/<time>

Reads <dir>/<client>.json (one per client run; see compare.sh for the names) and
<dir>/machine.txt; prints the report (compare.sh saves it as results.md) and writes
<dir>/chart.svg. Only the Python standard library: no plotting package.
"""

import html
import json
import os
import sys

OUT = sys.argv[1]
WS = ["slack-rtm", "py-v1", "py-v2", "node", "raw", "sink"]
WSS = ["slack-rtm-tls", "py-v1-tls", "node-tls", "raw-tls", "sink-tls"]
MANY = ["clients-ws", "clients-tls"]
# The flood events: `type` first, then in Slack's key order (benches/events/).
SIZES = ["small", "large", "slack-small", "slack-large"]


def load(name):
    p = os.path.join(OUT, name + ".json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        try:
            return json.load(f)
        except ValueError as e:
            return {"client": name, "error": f"unreadable result: {e}"}


rows = {name: r for name in WS + WSS + MANY if (r := load(name)) is not None}


def num(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}{unit}"
    return f"{int(v):,}{unit}"


def ok_eps(r, size):
    if not r:
        return None
    v = r.get(f"{size}_eps")
    if not v or r.get(f"{size}_stalled"):
        return None
    return v


def eps(r, size):
    v = r.get(f"{size}_eps")
    if v is None:
        return "—"
    if r.get(f"{size}_stalled"):
        return f"stalled after {r.get(size + '_done', 0):,} of {r.get('events', 0):,}"
    note = " (handler read mismatch!)" if r.get(f"{size}_read_ok") is False else ""
    return f"{v:,.0f}{note}"


def ratio(r, size, base):
    a, b = ok_eps(r, size), ok_eps(base, size)
    return f"{a / b:.2f}×" if a and b else "—"


def ceil_pct(r, size, ours):
    a, c = ok_eps(r, size), (ours or {}).get(f"ceiling_{size.replace('-ignored', '')}_eps")
    return f"{100 * a / c:.0f}%" if a and c else "—"


def cpu(r, size):
    v = r.get(f"{size}_cpu_us_per_event")
    return "—" if v is None else f"{v:.2f}"


def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f}"


def threads(r):
    t = r.get("threads_total")
    if t is None:
        return "—"
    harness = r.get("threads_harness") or 0
    text = f"{t - harness}"
    after = r.get("threads_after")
    if after is not None and after != t:
        text += f" → {after - harness}"
    named = r.get("threads_lib")
    return text + (f" ({named} rtm-*)" if named else "")


def gap_text():
    gap = next((r["rtt_gap_us"] for r in rows.values() if r.get("rtt_gap_us") is not None), None)
    return f"{gap / 1000:g} ms apart" if gap is not None else "apart"


def row_label(name):
    r = rows.get(name) or {}
    return (r.get("client") or name) + (" (wss)" if name.endswith("-tls") else "")


def flood_table(title, names, ours_name, node_name, py_name):
    present = [n for n in names if n in rows]
    if not present:
        return
    ours, node, py = rows.get(ours_name), rows.get(node_name, {}), rows.get(py_name, {})
    print(f"### {title}")
    print()
    print("| client | events/flood | small ev/s | ×Node | ×Python | of ceiling | large ev/s | ×Node | ×Python "
          f"| of ceiling | round trip p50 / p99 µs: 1 CPU, back to back | 2 CPUs, back to back | 2 CPUs, {gap_text()} "
          "| CPU µs per event, small / large | idle CPU ms (stat ticks) / s | threads idle → flood | RSS idle / peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in present:
        r = rows[name]
        if r.get("error") and not r.get("small_eps"):
            print(f"| {row_label(name)} | failed: {r['error']} |" + " |" * 15)
            continue
        print(
            f"| {row_label(name)} | {num(r.get('events'))} "
            f"| {eps(r, 'small')} | {ratio(r, 'small', node)} | {ratio(r, 'small', py)} | {ceil_pct(r, 'small', ours)} "
            f"| {eps(r, 'large')} | {ratio(r, 'large', node)} | {ratio(r, 'large', py)} | {ceil_pct(r, 'large', ours)} "
            f"| {num(r.get('rtt_1cpu_p50_us'))} / {num(r.get('rtt_1cpu_p99_us'))} "
            f"| {num(r.get('rtt_b2b_p50_us'))} / {num(r.get('rtt_b2b_p99_us'))} "
            f"| {num(r.get('rtt_p50_us'))} / {num(r.get('rtt_p99_us'))} "
            f"| {cpu(r, 'small')} / {cpu(r, 'large')} "
            f"| {num(r.get('idle_cpu_ms'))} ({num(r.get('idle_cpu_ticks_ms'))}) / {num(r.get('idle_secs'))} "
            f"| {threads(r)} | {mb(r.get('rss_idle_kb'))} / {mb(r.get('rss_peak_kb'))} |"
        )
    if ours and ours.get("ceiling_small_eps"):
        print(f"| ceiling: tungstenite decode + serde_json::Value parse, 1 thread, in memory | — "
              f"| {ours['ceiling_small_eps']:,.0f} | | | 100% | {ours.get('ceiling_large_eps', 0):,.0f} | | | 100% "
              f"| — | — | — | — | — | — | — |")
    print()
    slack = [n for n in present if rows[n].get("slack-small_eps") or rows[n].get("slack-large_eps")]
    if slack:
        print("Slack's key order (`benches/events/slack-*.json`: `client_msg_id` first, `type` third, "
              "blocks; 489 and 1,263 bytes):")
        print()
        print("| client | slack-small ev/s | ×Node | of ceiling | slack-large ev/s | ×Node | of ceiling "
              "| CPU µs per event, slack-small / slack-large |")
        print("|---|---|---|---|---|---|---|---|")
        for name in slack:
            r = rows[name]
            print(f"| {row_label(name)} "
                  f"| {eps(r, 'slack-small')} | {ratio(r, 'slack-small', node)} | {ceil_pct(r, 'slack-small', ours)} "
                  f"| {eps(r, 'slack-large')} | {ratio(r, 'slack-large', node)} | {ceil_pct(r, 'slack-large', ours)} "
                  f"| {cpu(r, 'slack-small')} / {cpu(r, 'slack-large')} |")
        if ours and ours.get("ceiling_slack-small_eps"):
            print(f"| ceiling (same events) | {ours['ceiling_slack-small_eps']:,.0f} | | 100% "
                  f"| {ours.get('ceiling_slack-large_eps', 0):,.0f} | | 100% "
                  f"| {cpu(ours, 'ceiling_slack-small')} / {cpu(ours, 'ceiling_slack-large')} |")
        print()
    ignored = [n for n in present if rows[n].get("small-ignored_eps") or rows[n].get("large-ignored_eps")]
    if ignored:
        sizes = [z for z in SIZES if any(rows[n].get(z + "-ignored_eps") for n in ignored)]
        print("Ignored events (the same frames under a type no handler takes, no `\"*\"` handler; "
              "the raw client parses every frame, the sink parses none):")
        print()
        print("| client | " + " | ".join(f"{z} ignored ev/s | × ceiling | CPU µs / event" for z in sizes) + " |")
        print("|---|" + "---|---|---|" * len(sizes))
        for name in ignored:
            r = rows[name]
            cells = []
            for size in sizes:
                v = ok_eps(r, size + "-ignored")
                c = (ours or {}).get(f"ceiling_{size}_eps")
                cells.append(eps(r, size + "-ignored"))
                cells.append(f"{v / c:.2f}×" if v and c else "—")
                cells.append(cpu(r, size + "-ignored"))
            print(f"| {row_label(name)} | " + " | ".join(cells) + " |")
        print()


def many_table():
    present = [n for n in MANY if n in rows]
    if not present:
        return
    print("### Many clients in one process, connected and idle")
    print()
    print("| round | clients | said hello | connect s | RSS before → after MB | RSS per client KB "
          "| threads per client | idle CPU ms / 10 s per 100 clients | the fake: open sockets, RSS MB, threads | stop s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in present:
        r = rows[name]
        label = "wss://" if name.endswith("tls") else "ws://"
        if r.get("error"):
            print(f"| {label} | failed: {r['error']} |" + " |" * 8)
            continue
        print(
            f"| {label} | {num(r.get('clients'))} | {num(r.get('connected'))} | {num(r.get('connect_secs'))} "
            f"| {mb(r.get('rss_before_kb'))} → {mb(r.get('rss_after_kb'))} | {num(r.get('rss_per_client_kb'))} "
            f"| {num(r.get('threads_per_client'))} | {num(r.get('idle_cpu_ms_per_10s_per_100'))} "
            f"| {num(r.get('server_open'))}, {mb(r.get('server_rss_kb'))}, {num(r.get('server_threads'))} "
            f"| {num(r.get('stop_secs'))} |"
        )
    print()


# ----- SPEC §6 targets -----

targets = []  # (target, measured text, ratio to target, met: True/False/None)


def at_least(what, measured, goal, text=None):
    if measured is None:
        targets.append((what, "not measured", "—", None))
        return
    targets.append((what, text or f"{measured:.2f}", f"{measured / goal:.2f}", measured >= goal))


def at_most(what, measured, goal, text=None):
    if measured is None:
        targets.append((what, "not measured", "—", None))
        return
    targets.append((what, text or f"{measured:.2f}", f"{measured / goal:.2f}", measured <= goal))


def div(a, b):
    return a / b if a and b else None


def flood_targets(prefix, ours_name, node_name, raw_name):
    ours, node, raw = rows.get(ours_name), rows.get(node_name), rows.get(raw_name)
    if not ours:
        return
    for size in SIZES:
        c = ours.get(f"ceiling_{size}_eps")
        v = ok_eps(ours, size)
        if size.startswith("slack-") and not v:
            continue
        at_least(f"{prefix}handled {size} events ≥ 0.85 × ceiling", div(v, c), 0.85,
                 f"{num(v)} / {num(c)} = {div(v, c) or 0:.2f}×" if v and c else None)
        n = ok_eps(node, size)
        at_least(f"{prefix}handled {size} events ≥ Node", div(v, n), 1.0,
                 f"{num(v)} / {num(n)} = {div(v, n) or 0:.2f}×" if v and n else None)
    for size in SIZES:
        c = ours.get(f"ceiling_{size}_eps")
        v = ok_eps(ours, size + "-ignored")
        if size.startswith("slack-") and not v:
            continue
        at_least(f"{prefix}ignored {size} events ≥ 3 × ceiling", div(v, c), 3.0,
                 f"{num(v)} / {num(c)} = {div(v, c) or 0:.2f}×" if v and c else None)
    for series, what in (("rtt_1cpu", "1 CPU"), ("rtt_b2b", "2 CPUs back to back"), ("rtt", "2 CPUs, " + gap_text())):
        for q in ("p50", "p99"):
            a, b = ours.get(f"{series}_{q}_us"), (raw or {}).get(f"{series}_{q}_us")
            r = div(a, b)
            at_most(f"{prefix}round trip {q} ≤ 1.3 × raw ({what})", r, 1.3,
                    f"{num(a)} / {num(b)} µs = {r:.2f}×" if r else None)


flood_targets("ws: ", "slack-rtm", "node", "raw")
flood_targets("wss: ", "slack-rtm-tls", "node-tls", "raw-tls")
ws = rows.get("slack-rtm")
if ws:
    at_most("ws: idle CPU ≤ 10 ms / 10 s", (ws.get("idle_cpu_ms") or 0) * 10 / max(ws.get("idle_secs") or 10, 1), 10,
            f"{num(ws.get('idle_cpu_ms'))} ms / {num(ws.get('idle_secs'))} s")
    at_most("ws: RSS idle ≤ 8 MB", (ws.get("rss_idle_kb") or 0) / 1024, 8, f"{mb(ws.get('rss_idle_kb'))} MB")
    at_most("ws: RSS peak under the floods ≤ 16 MB", (ws.get("rss_peak_kb") or 0) / 1024, 16,
            f"{mb(ws.get('rss_peak_kb'))} MB")
    lib = ws.get("threads_lib")
    at_most("ws: library threads ≤ 3", lib, 3, f"{lib}" if lib is not None else None)
tls = rows.get("slack-rtm-tls")
if tls:
    at_most("wss: RSS idle ≤ 8 MB", (tls.get("rss_idle_kb") or 0) / 1024, 8, f"{mb(tls.get('rss_idle_kb'))} MB")
for name, label in (("clients-ws", "many clients, ws"), ("clients-tls", "many clients, wss")):
    r = rows.get(name)
    if not r or r.get("error"):
        if r:
            targets.append((f"{label}: 1,000 connected and idle", f"failed: {r['error']}", "—", False))
        continue
    at_most(f"{label}: RSS ≤ 256 KB per client ({num(r.get('clients'))} clients)", r.get("rss_per_client_kb"), 256,
            f"{num(r.get('rss_per_client_kb'))} KB")
    at_most(f"{label}: ≤ 3 threads per client", r.get("threads_per_client"), 3, f"{num(r.get('threads_per_client'))}")
    at_most(f"{label}: idle CPU ≤ 10 ms / 10 s per 100 clients", r.get("idle_cpu_ms_per_10s_per_100"), 10,
            f"{num(r.get('idle_cpu_ms_per_10s_per_100'))} ms")


def print_targets():
    if not targets:
        return
    print("### SPEC §6 targets: measured in this run")
    print()
    print("| target | measured | measured ÷ target | |")
    print("|---|---|---|---|")
    for what, text, r, met in targets:
        mark = {True: "met", False: "**not met**", None: "—"}[met]
        print(f"| {what} | {text} | {r} | {mark} |")
    print()


# ----- the chart -----

def chart():
    """Horizontal bars, one panel per measure; plain SVG text."""
    panels = []
    colors = {"slack-rtm": "#2b7bb9", "node": "#5a9e3a", "python": "#c9a227", "raw": "#8a8a8a",
              "sink": "#c7c7c7", "ignored": "#7fb3dc"}

    def who(name):
        for k in ("slack-rtm", "node", "raw", "sink"):
            if name.startswith(k):
                return k
        return "python"

    for title, names, ours_name in (("ws://", WS, "slack-rtm"), ("wss:// (serve --tls)", WSS, "slack-rtm-tls")):
        ours = rows.get(ours_name) or {}
        for size in ("small", "large"):
            bars = []
            for name in names:
                r = rows.get(name)
                v = ok_eps(r, size)
                if v:
                    bars.append((row_label(name), v, colors[who(name)]))
                iv = ok_eps(r, size + "-ignored") if who(name) == "slack-rtm" else None
                if iv:
                    bars.append((row_label(name) + ", ignored events", iv, colors["ignored"]))
            lines = []
            c = ours.get(f"ceiling_{size}_eps")
            if c:
                lines = [("ceiling", c), ("3 × ceiling", 3 * c)]
            if bars:
                panels.append((f"{title} {size} events per second (more is better)", bars, lines,
                               lambda v: f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"))
    for key, title, goal, fmt in (
        ("rss_per_client_kb", "RSS per idle client, KB (less is better)", 256, lambda v: f"{v:,.0f} KB"),
        ("idle_cpu_ms_per_10s_per_100", "idle CPU per 100 clients, ms / 10 s (less is better)", 10,
         lambda v: f"{v:.1f} ms"),
    ):
        bars = []
        for name in MANY:
            r = rows.get(name)
            if r and r.get(key) is not None:
                bars.append((f"{num(r.get('clients'))} clients, {'wss' if name.endswith('tls') else 'ws'}",
                             r[key], colors["slack-rtm"]))
        if bars:
            panels.append((title, bars, [("target", goal)], fmt))
    rtt = []
    for name in ("slack-rtm", "raw", "node", "py-v1", "slack-rtm-tls", "raw-tls", "node-tls", "py-v1-tls"):
        r = rows.get(name)
        if r and r.get("rtt_1cpu_p50_us") is not None:
            rtt.append((row_label(name), r["rtt_1cpu_p50_us"],
                        colors[who(name)]))
    if rtt:
        panels.append(("round trip p50, µs, 1 CPU (less is better)", rtt, [], lambda v: f"{v:,.0f} µs"))

    width, label_w, bar_h, gap = 900, 330, 18, 6
    plot_w = width - label_w - 110
    y = 40
    out = []
    for title, bars, lines, fmt in panels:
        top = max([v for _, v, _ in bars] + [v for _, v in lines])
        scale = plot_w / top if top else 1
        out.append(f'<text x="10" y="{y}" font-weight="bold">{html.escape(title)}</text>')
        y += 10
        y0 = y
        for label, v, color in bars:
            w = max(1, v * scale)
            out.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{html.escape(label)}</text>')
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>')
            out.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 13}">{html.escape(fmt(v))}</text>')
            y += bar_h + gap
        for label, v in lines:
            x = label_w + v * scale
            out.append(f'<line x1="{x:.1f}" y1="{y0 - 4}" x2="{x:.1f}" y2="{y}" stroke="#b22222" '
                       f'stroke-dasharray="4,3"/>')
            out.append(f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle" fill="#b22222" '
                       f'font-size="11">{html.escape(label)}</text>')
        y += 40
    machine = ""
    mpath = os.path.join(OUT, "machine.txt")
    if os.path.exists(mpath):
        with open(mpath) as f:
            machine = next((l.strip() for l in f if l.startswith("date:")), "")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" '
            f'font-family="sans-serif" font-size="12">'
            f'<rect width="100%" height="100%" fill="white"/>'
            f'<text x="10" y="20" font-size="14" font-weight="bold">slack-rtm against its peers, same fake '
            f'Slack, same machine, one run ({html.escape(machine)})</text>')
    with open(os.path.join(OUT, "chart.svg"), "w") as f:
        f.write(head + "\n" + "\n".join(out) + "\n</svg>\n")


flood_table("ws:// round", WS, "slack-rtm", "node", "py-v1")
flood_table("wss:// round (serve --tls)", WSS, "slack-rtm-tls", "node-tls", "py-v1-tls")
many_table()
print_targets()
for ours_name, raw_name, label in (("slack-rtm", "raw", "ws"), ("slack-rtm-tls", "raw-tls", "wss")):
    ours, raw = rows.get(ours_name, {}), rows.get(raw_name, {})
    if ours.get("rtt_p50_us") and raw.get("rtt_p50_us"):
        for prefix, what in (("rtt_1cpu", "1 CPU, back to back"), ("rtt_b2b", "2 CPUs, back to back"),
                             ("rtt", "2 CPUs, " + gap_text())):
            if ours.get(prefix + "_p50_us") is None or raw.get(prefix + "_p50_us") is None:
                continue
            print(f"Round trip added by slack-rtm over the raw one-thread client ({label}, {what}): "
                  f"p50 {ours[prefix + '_p50_us'] - raw[prefix + '_p50_us']:+.1f} µs, "
                  f"p99 {ours[prefix + '_p99_us'] - raw[prefix + '_p99_us']:+.1f} µs.")
        print()
mpath = os.path.join(OUT, "machine.txt")
if os.path.exists(mpath):
    with open(mpath) as f:
        loads = [l.strip() for l in f if l.startswith("load average")]
    print("Machine load (1, 5, 15 min): " + "; ".join(loads) + ".")
chart()
