#!/usr/bin/env python3
"""Turns bench/run's measurements (JSON lines) into the table, latest.json and the plot.

  report.py --meta JSON --lines results.jsonl --out bench/results

Writes OUT/latest.json (everything measured plus the derived figures), OUT/latest.md (the
table, as printed) and OUT/latest.png (latency by percentile, per scenario and target).
"""
import argparse
import json
import os
import subprocess
import sys

TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
ORDER = ["small", "restore", "miss", "anthropic", "stores", "commit", "big", "firstbyte", "stream", "stream2000", "workers", "idle"]
TITLES = {
    "small": "small: ~1 KB non-stream, 64 conns",
    "restore": "restore: 200 KB history, 20 restores, 32 conns",
    "miss": "miss: restore body, empty cache, --miss auto, 32 conns",
    "anthropic": "anthropic: 200 KB Anthropic Messages history, 20 thinking restores, 32 conns",
    "big": "big: 1 MiB history, 50 restores, 16 conns",
    "commit": "commit: every answer a captured tool call, 2 conns; p50/p99 = the last byte",
    "firstbyte": "firstbyte: 32 streams, ~50 events 2 ms apart",
    "stream": "stream: 256 streams, ~50 events 2 ms apart",
    "stream2000": "stream2000: 2,000 streams, ~50 events 2 ms apart",
}
# Budgets of issue 6 (ratios from one run).
RPS_BUDGET = {"small": 0.9, "restore": 0.8}
# Issue 18: CPU per request (or stream) ÷ nginx's at the defaults, and the defaults against the
# tuned flags.
CPU_BUDGET = {"small": 1.6, "restore": 1.3, "anthropic": 1.3, "miss": 1.5, "stream": 1.0, "stream2000": 1.0}
DEFAULTS_OVER_TUNED = 1.10
P99_BUDGET = {"small": 1.1}
EVENTS_BUDGET = 0.95
FB_P99_SLACK_MS = 0.2
IDLE_BUDGET_KIB = 16
NOISY_PCT = 15


def held(r):
    """Answers the commit gate held during the measured window, and how many timed out."""
    a, b = r.get("status_after") or {}, r.get("status_before") or {}
    ca, cb = a.get("restore", {}).get("commit"), b.get("restore", {}).get("commit")
    if not ca or not cb:
        return "?"
    return f"{ca['held'] - cb['held']} ({ca['timeouts'] - cb['timeouts']} timed out)"


def derive(r):
    """Adds the figures the table shows to one measurement."""
    if r.get("kind") == "wrk":
        w = r["wrk"]
        r["throughput"] = w["requests"] / w["duration_s"] if w["duration_s"] else 0
        r["mb_s"] = r["throughput"] * r["body_bytes"] / 1e6
        r["p50"], r["p99"] = w["lat_ms"]["p50"], w["lat_ms"]["p99"]
        r["percentiles"] = w["lat_ms"]
        r["errors"] = sum(w["errors"].values())
        units = w["requests"]
    elif r.get("kind") == "stream":
        l = r["load"]
        r["throughput"] = l["streams_per_s"]
        r["events_s"] = l["events_per_s"]
        r["p50"], r["p99"] = l["fb_ms"]["p50"], l["fb_ms"]["p99"]
        r["percentiles"] = l["fb_ms"]
        r["errors"] = l["errors"] + l["bad_status"]
        units = l["streams"]
        if r["target"] != "direct" and l["events"]:
            r["cpu_us_event"] = r["cpu_ticks"] * TICK_US / l["events"]
    elif r.get("kind") == "idle":
        l = r.get("load") or {}
        opened = l.get("opened", 0)
        r["opened"] = opened
        r["kib_per_stream"] = (r["rss_held_kib"] - r["rss_base_kib"]) / opened if opened else None
        return r
    else:
        return r
    secs = r["wrk"]["duration_s"] if r["kind"] == "wrk" else r["load"]["seconds"]
    if "other_ticks" in r and secs:
        # CPU used by processes other than the simulator, proxy and load client: % of one core.
        r["other_pct"] = max(0.0, r["other_ticks"] * TICK_US / 1e6 / secs * 100)
    if r["target"] != "direct" and units:
        r["cpu_us"] = r["cpu_ticks"] * TICK_US / units
    if r["target"] != "direct" and secs:
        # Share of its core the proxy used: near 100% means its own CPU was the limit.
        r["proxy_core_pct"] = r["cpu_ticks"] * TICK_US / 1e6 / secs * 100
    sa, sb = r.get("status_after"), r.get("status_before")
    if sa and sb and "restore" in sa:
        n = units or 1
        a, b = sa["restore"], sb["restore"]
        r["restore_per_request"] = {
            "restored": (a["restored"] - b["restored"]) / n,
            "misses": (a["misses"] - b["misses"]) / n,
            "placeholder": (a["fallbacks"]["placeholder"] - b["fallbacks"]["placeholder"]) / n,
            "auto_retries": (a["auto_retries"] - b["auto_retries"]) / n,
        }
    return r


def fmt(v, d=0):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return f"{v:,.{d}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--lines", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta = json.loads(a.meta)
    rows, verify = [], []
    for line in open(a.lines):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        (verify if "verify" in r else rows).append(r)
    runs = [derive(r) for r in rows]
    # With --repeat, keep per scenario and target the run other processes disturbed least.
    best = {}
    for r in runs:
        k = (r["scenario"], r["target"])
        if k not in best or r.get("other_pct", 0) < best[k].get("other_pct", 0):
            best[k] = r
    rank = {"direct": 0, "nginx": 1, "thinkback": 2, "thinkback-tuned": 3, "thinkback-miss": 4,
            "thinkback-memory": 5, "thinkback-sqlite": 6, "thinkback-redis": 7,
            "nginx-w1": 10, "thinkback-w1": 11, "nginx-w2": 12, "thinkback-w2": 13}
    rows = sorted((r for r in runs if best[(r["scenario"], r["target"])] is r),
                  key=lambda r: (ORDER.index(r["scenario"]) if r["scenario"] in ORDER else 99, rank.get(r["target"], 9)))
    by = {(r["scenario"], r["target"]): r for r in rows}

    def ref(scen, target):
        # miss is measured on thinkback only; its direct and nginx are restore's (same body).
        return by.get((scen, target)) or (by.get(("restore", target)) if scen == "miss" else None)

    out = []
    out.append(f"Measured {meta['date']} on {meta['nproc']} × {meta['cpu']}, nginx {meta['nginx']}, "
               f"thinkback {meta['commit']}{' (dirty)' if meta['dirty'] else ''}; `{meta['command']}`, "
               f"{meta['seconds']} s per run after warm-up; restoration {'on' if meta['restoring'] else 'absent in this build'}.")
    out.append("")
    main_rows = any(r["scenario"] != "idle" for r in rows)
    if main_rows:
        out.append("| scenario | target | req/s or streams/s | events/s | MB/s in | p50 ms | p99 ms | CPU µs/req | "
                   "proxy core | ÷ direct | ÷ nginx | p99 ÷ nginx | CPU ÷ nginx | other load |")
        out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    budgets, notes = [], []
    for scen in ORDER:
        if scen == "idle":
            continue
        srows = [r for r in rows if r["scenario"] == scen]
        if not srows:
            continue
        for r in srows:
            if r.get("todo"):
                out.append(f"| {scen} | {r['target']} | TODO: {r['todo']} | | | | | | | | | | | |")
                continue
            d, n = ref(scen, "direct"), ref(scen, "nginx")
            tb = r["target"].startswith("thinkback")
            cells = [scen, r["target"], fmt(r["throughput"], 0), fmt(r.get("events_s"), 0),
                     fmt(r["mb_s"], 0) if r["kind"] == "wrk" and scen in ("restore", "miss", "anthropic", "stores", "big") else "",
                     fmt(r["p50"], 3), fmt(r["p99"], 3), fmt(r.get("cpu_us"), 1),
                     f"{r['proxy_core_pct']:.0f}%" if r.get("proxy_core_pct") is not None else ""]
            if tb and d and n:
                key = "events_s" if r["kind"] == "stream" else "throughput"
                cells += [fmt(r[key] / d[key], 2) if d[key] else "–", fmt(r[key] / n[key], 2) if n[key] else "–",
                          fmt(r["p99"] / n["p99"], 2) if n["p99"] else "–",
                          fmt(r["cpu_us"] / n["cpu_us"], 2) if n.get("cpu_us") and r.get("cpu_us") else "–"]
            else:
                cells += ["", "", "", ""]
            op = r.get("other_pct")
            cells.append(f"{op:.0f}%" if op is not None else "")
            if op is not None and op > NOISY_PCT:
                notes.append(f"{scen}/{r['target']}: other processes used {op:.0f}% of a core during the measurement (noisy)")
            if r.get("errors"):
                why = (r.get("stderr") or "").strip().replace("\n", "; ")
                notes.append(f"{scen}/{r['target']}: {r['errors']} errors or non-200 answers" + (f" ({why})" if why else ""))
            rp = r.get("restore_per_request")
            if rp and scen in ("restore", "miss", "anthropic", "stores", "big"):
                notes.append(f"{scen}/{r['target']}: per request {rp['restored']:.1f} restored, {rp['misses']:.1f} misses, "
                             f"{rp['placeholder']:.1f} placeholders, {rp['auto_retries']:.2f} auto retries")
            out.append("| " + " | ".join(cells) + " |")
        if scen == "commit":
            # What the group commit adds to the last byte: each store against memory (which
            # commits at once), same load, same run.
            for suffix in ("", "-stream"):
                ngx = by.get(("commit", f"nginx{suffix}"))
                for store in ("memory", "sqlite", "redis"):
                    t = by.get(("commit", f"thinkback-{store}{suffix}"))
                    if ngx and t and ngx.get("cpu_us") and t.get("cpu_us"):
                        notes.append(f"commit{suffix or ' (whole answers)'}: thinkback-{store} at the defaults: CPU/req "
                                     f"{t['cpu_us'] / ngx['cpu_us']:.2f}× nginx ({t['cpu_us']:.1f} vs {ngx['cpu_us']:.1f} µs), "
                                     f"p99 {t['p99'] / ngx['p99']:.2f}× nginx's")
                base = by.get(("commit", f"thinkback-memory{suffix}"))
                for other in ("sqlite", "redis"):
                    o = by.get(("commit", f"thinkback-{other}{suffix}"))
                    if base and o:
                        notes.append(f"commit{suffix or ' (whole answers)'}: {other} adds {o['p50'] - base['p50']:+.3f} ms at p50, "
                                     f"{o['p99'] - base['p99']:+.3f} ms at p99 to the last byte (memory: {base['p50']:.3f} / "
                                     f"{base['p99']:.3f} ms); held {held(o)} answers")
            continue
        if scen == "workers":
            # Issue 20: each worker count against nginx with as many workers, and 2 against 1.
            for n in (1, 2):
                t, ngx = by.get(("workers", f"thinkback-w{n}")), by.get(("workers", f"nginx-w{n}"))
                if t and ngx and t.get("cpu_us") and ngx.get("cpu_us") and ngx["throughput"]:
                    notes.append(f"workers: {n} worker{'s' if n > 1 else ''}: {t['throughput']:.0f} req/s "
                                 f"({t['throughput'] / ngx['throughput']:.2f}× nginx with {n}), CPU/req {t['cpu_us']:.1f} µs "
                                 f"({t['cpu_us'] / ngx['cpu_us']:.2f}× nginx's {ngx['cpu_us']:.1f})")
            one, two = by.get(("workers", "thinkback-w1")), by.get(("workers", "thinkback-w2"))
            if one and two and one["throughput"] and one.get("cpu_us") and two.get("cpu_us"):
                notes.append(f"workers: 2 ÷ 1 worker: req/s {two['throughput'] / one['throughput']:.2f}×, "
                             f"CPU/req {two['cpu_us'] / one['cpu_us']:.2f}×")
            continue
        if scen == "stores":
            base = by.get(("stores", "thinkback-memory"))
            for other in ("sqlite", "redis"):
                o = by.get(("stores", f"thinkback-{other}"))
                if base and o and base["throughput"] and base.get("cpu_us") and o.get("cpu_us"):
                    notes.append(f"stores: {other} ÷ memory: req/s {o['throughput'] / base['throughput']:.2f}×, "
                                 f"CPU/req {o['cpu_us'] / base['cpu_us']:.2f}× (restore scenario, same run)")
            continue
        d, n, t = ref(scen, "direct"), ref(scen, "nginx"), by.get((scen, "thinkback")) or by.get((scen, "thinkback-miss"))
        if not (d and n and t) or t.get("todo"):
            continue
        key = "events_s" if t["kind"] == "stream" else "throughput"
        # firstbyte is paced (32 streams, 2 ms apart): its throughput is fixed by design.
        cpu_ratio = t["cpu_us"] / n["cpu_us"] if n.get("cpu_us") and t.get("cpu_us") else None
        saturated = t.get("proxy_core_pct", 0) >= 90
        bound = d[key] < 1.3 * n[key] and scen != "firstbyte" and not saturated
        if d[key] < 1.3 * n[key] and scen != "firstbyte":
            notes.append(f"{scen}: direct is only {d[key] / n[key]:.2f}× nginx: the core of the simulator and the load "
                         f"client is the limit, not nginx; compare CPU per request.")
        if saturated and cpu_ratio:
            notes.append(f"{scen}: {t['target']} used {t['proxy_core_pct']:.0f}% of its core (nginx "
                         f"{n.get('proxy_core_pct', 0):.0f}%): its throughput is its own limit; at equal CPU it would "
                         f"reach about {1 / cpu_ratio:.2f}× nginx's.")
        if scen in CPU_BUDGET and cpu_ratio:
            lim = CPU_BUDGET[scen]
            budgets.append((f"{scen}: CPU/req ≤ {lim}× nginx at the defaults", f"{cpu_ratio:.2f}×", cpu_ratio <= lim, False,
                            f"{t['cpu_us']:.1f} vs {n['cpu_us']:.1f} µs"))
        tt = by.get((scen, "thinkback-tuned"))
        if tt and tt.get("cpu_us") and t.get("cpu_us"):
            v = t["cpu_us"] / tt["cpu_us"]
            budgets.append((f"{scen}: defaults ≤ {DEFAULTS_OVER_TUNED}× the tuned flags (CPU/req)", f"{v:.2f}×",
                            v <= DEFAULTS_OVER_TUNED, False, f"{t['cpu_us']:.1f} vs {tt['cpu_us']:.1f} µs"))
        if scen in RPS_BUDGET:
            lim = RPS_BUDGET[scen]
            v = t[key] / n[key]
            budgets.append((f"{scen}: req/s ≥ {lim}× nginx", f"{v:.2f}×", v >= lim, None if saturated else bound,
                            f"CPU/req {cpu_ratio:.2f}× nginx (≤ {1 / lim:.2f}× would match)" if cpu_ratio else ""))
        if scen in P99_BUDGET:
            lim = P99_BUDGET[scen]
            v = t["p99"] / n["p99"]
            budgets.append((f"{scen}: p99 ≤ {lim}× nginx", f"{t['p99']:.3f} vs {n['p99']:.3f} ms ({v:.2f}×)", v <= lim, False, ""))
        if scen in ("stream", "stream2000"):
            v = t[key] / n[key]
            budgets.append((f"{scen}: events/s ≥ {EVENTS_BUDGET}× nginx", f"{v:.2f}×", v >= EVENTS_BUDGET, None if saturated else bound,
                            f"CPU/stream {cpu_ratio:.2f}× nginx" if cpu_ratio else ""))
        if t["kind"] == "stream":
            diff = t["p99"] - n["p99"]
            budgets.append((f"{scen}: first-byte p99 ≤ nginx + {FB_P99_SLACK_MS} ms", f"{diff:+.3f} ms", diff <= FB_P99_SLACK_MS,
                            False, "simulator core saturated: queueing dominates" if bound else ""))

    idle = [r for r in rows if r["scenario"] == "idle"]
    if idle:
        if main_rows:
            out.append("")
        out.append("| idle streams | target | streams open | RSS before MiB | RSS held MiB | KiB per stream | descriptors |")
        out.append("|---|---|--:|--:|--:|--:|--:|")
        for r in idle:
            out.append(f"| idle | {r['target']} | {r['opened']:,} of {r['conns']:,} | {r['rss_base_kib'] / 1024:.1f} | "
                       f"{r['rss_held_kib'] / 1024:.1f} | {fmt(r['kib_per_stream'], 1)} | {r['fds_held']:,} |")
            if r["target"] == "thinkback" and r["kib_per_stream"] is not None:
                budgets.append((f"idle: ≤ {IDLE_BUDGET_KIB} KiB RSS per stream", f"{r['kib_per_stream']:.1f} KiB",
                                r["kib_per_stream"] <= IDLE_BUDGET_KIB, False,
                                f"nginx {next((x['kib_per_stream'] for x in idle if x['target'] == 'nginx'), 0) or 0:.1f} KiB"))

    if budgets:
        out.append("")
        out.append("| budget | thinkback | met | note |")
        out.append("|---|---|---|---|")
        for name, val, ok, bound, note in budgets:
            mark = "yes" if ok else "**no**"
            if bound:
                mark += " (upstream-bound)"
            elif bound is None:
                mark += " (thinkback's core saturated)"
            out.append(f"| {name} | {val} | {mark} | {note} |")
    for v in verify:
        g = v["gen"]
        notes.append(f"{v['verify']} body: {g['bytes']:,} bytes, {g['tool_call_messages']} tool-call messages; "
                     f"strict replay through thinkback answered {v['strict_status']}")
    if notes:
        out.append("")
        out.extend(f"- {n}" for n in notes)
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump({"meta": meta, "verify": verify, "results": rows, "all_runs": runs,
                   "budgets": [dict(zip(("budget", "value", "met", "upstream_bound", "note"), b)) for b in budgets]},
                  f, indent=1, ensure_ascii=False)
    plot(rows, os.path.join(a.out, "latest.png"))


def plot(rows, png):
    """Latency by percentile (x: 1/(1-p), log), one panel per scenario, one line per target."""
    scens = [s for s in ORDER if any(r["scenario"] == s and r.get("percentiles") for r in rows)]
    if not scens:
        return
    cols = 2 if len(scens) > 1 else 1
    nrows = (len(scens) + cols - 1) // cols
    width = 600 * cols
    g = [f"set terminal pngcairo size {width},{360 * nrows} font ',9'" if has_cairo() else
         f"set terminal png size {width},{360 * nrows}",
         "set termoption noenhanced",  # titles hold ~ and _ literally
         f"set output '{png}'", f"set multiplot layout {nrows},{cols}",
         "set logscale x", "set logscale y", "set grid", "set key top left",
         "set xtics ('50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000)",  # labels are formats: %% is %
         "set ylabel 'ms'"]
    for s in scens:
        targets = [r for r in rows if r["scenario"] == s and r.get("percentiles")]
        if s == "miss":  # against the same body with every message a hit
            targets = [dict(r, target=r["target"] + " (restore)") for r in rows
                       if r["scenario"] == "restore" and r["target"] != "direct" and r.get("percentiles")] + targets
        plots = []
        for r in targets:
            name = f"${s}_{''.join(c if c.isalnum() else '_' for c in r['target'])}"
            g.append(f"{name} << EOD")
            for k, v in r["percentiles"].items():
                if k == "max" or v <= 0:
                    continue
                p = float(k[1:])
                g.append(f"{1 / (1 - p / 100):.6g} {v}")
            g.append("EOD")
            plots.append(f"{name} using 1:2 with linespoints title '{r['target']}'")
        label = "first byte" if targets[0]["kind"] == "stream" else "latency"
        g.append(f"set title \"{TITLES.get(s, s)} — {label}\"")
        g.append("plot " + ", ".join(plots))
    g.append("unset multiplot")
    try:
        subprocess.run(["gnuplot"], input="\n".join(g) + "\n", text=True, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot failed: {getattr(e, 'stderr', e)}", file=sys.stderr)


def has_cairo():
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        return "pngcairo" in (r.stdout + r.stderr)
    except OSError:
        return False


if __name__ == "__main__":
    main()
