"""Account Monitor's benchmark suite: figures, never assertions about speed.

    .venv/bin/python -m tests.benchmarks all [--minutes M]      everything, then a summary table
    .venv/bin/python -m tests.benchmarks throughput [--feed K] [--frames N] [--repeat R]
    .venv/bin/python -m tests.benchmarks ui [--accounts 5] [--rate 10000] [--seconds 10]
    .venv/bin/python -m tests.benchmarks latency [--rate 1000] [--seconds 10]
    .venv/bin/python -m tests.benchmarks footprint [--minutes 20] [--warmup 10] [--idle-seconds 60] [--trace]
    .venv/bin/python -m tests.benchmarks startup [--runs 5]
    .venv/bin/python -m tests.benchmarks notify [--fills 1000]
    .venv/bin/python -m tests.benchmarks instructions [--feed K]   valgrind's count per frame (not in 'all')
    .venv/bin/python -m tests.benchmarks socket [--frames N] [--repeat R]   the connection layer alone (not in 'all')

ccxt.pro comes from the optional extra: `.venv/bin/pip install -e '.[bench]'`. Without a display the
GUI parts re-run themselves under xvfb-run (else Qt's offscreen platform).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.benchmarks.feeds import all_feeds

TARGETS = """targets (issue 12): throughput >= 0.5x bare on every feed, ahead of ccxt.pro on every feed, >= 5x
ccxt.pro on the full-balance and order feeds; UI stall p99 < 50 ms, max < 200 ms, tables final < 200 ms;
latency p99 < 5 ms at 1,000 frames/s, fill -> notification p99 < 100 ms; RSS < 200 MB, growth < 1 MB/10 min, idle CPU < 2%; start-up
< 1.5 s to the painted window, < 3 s to the first live balance"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    everything = commands.add_parser("all", help="every benchmark below, then a summary table")
    everything.add_argument("--minutes", type=float, default=20, help="footprint run length")
    everything.add_argument("--warmup", type=float, default=10, help="footprint warm-up")
    tp = commands.add_parser("throughput", help="frames/s per feed: bare vs ours vs ccxt.pro")
    tp.add_argument("--feed", action="append", choices=[f.key for f in all_feeds()], help="only these feeds")
    tp.add_argument("--frames", type=int, help="frames per burst (default: each feed's own)")
    tp.add_argument("--repeat", type=int, default=3, help="runs per client and feed; the median is shown")
    ui = commands.add_parser("ui", help="event-loop stall and catch-up under a burst into the window")
    ui.add_argument("--accounts", type=int, default=5)
    ui.add_argument("--rate", type=int, default=10_000, help="frames/s in total")
    ui.add_argument("--seconds", type=float, default=10.0)
    lat = commands.add_parser("latency", help="simulator send -> store updated")
    lat.add_argument("--rate", type=float, default=1000)
    lat.add_argument("--seconds", type=float, default=10)
    fp = commands.add_parser("footprint", help="RSS over time with 5 busy accounts, then idle CPU")
    fp.add_argument("--accounts", type=int, default=5)
    fp.add_argument("--minutes", type=float, default=20)
    fp.add_argument("--warmup", type=float, default=10)
    fp.add_argument("--idle-seconds", type=float, default=60)
    fp.add_argument(
        "--trace", action="store_true", help="tracemalloc: print what grew between the warm-up and the end"
    )
    fp.add_argument(
        "--step-seconds", type=float, default=1.0, help="each simulator's activity: one step every N s"
    )
    st = commands.add_parser("startup", help="account-monitor --demo to painted window and first balance")
    st.add_argument("--runs", type=int, default=5)
    nt = commands.add_parser("notify", help="fill frame -> Notify call on a private bus with dunst")
    nt.add_argument("--fills", type=int, default=1000)
    ins = commands.add_parser(
        "instructions", help="instructions per frame on our hot path, counted by valgrind (not in 'all')"
    )
    ins.add_argument("--feed", action="append", choices=[f.key for f in all_feeds()], help="only these feeds")
    sock = commands.add_parser(
        "socket", help="the connection layer's cost per frame: recv(), pushed, split (not in 'all')"
    )
    sock.add_argument("--frames", type=int, default=100_000)
    sock.add_argument("--repeat", type=int, default=5)
    for sub in (tp, ui, lat, fp, st, nt, ins, sock):
        sub.add_argument("--json", metavar="PATH", help="also write the figures to PATH (used by 'all')")
    return parser


def _load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    args = _parser().parse_args()
    if args.command in ("ui", "footprint", "startup", "notify", "all"):
        from tests.benchmarks.display import ensure_display

        ensure_display(sys.argv[1:])
    from tests.benchmarks import footprint, instructions, latency, socket_floor, startup, throughput, ui
    from tests.benchmarks.report import commit, machine, say

    say(f"machine: {machine()}; commit {commit()}; {_load()} at start")
    result: Any = None
    if args.command == "throughput":
        result = throughput.main(args.feed, args.frames, args.repeat)
    elif args.command == "ui":
        result = ui.main(args.accounts, args.rate, args.seconds)
    elif args.command == "latency":
        result = latency.main(args.rate, args.seconds)
    elif args.command == "footprint":
        result = footprint.main(
            args.accounts, args.minutes, args.warmup, args.idle_seconds, args.trace, args.step_seconds
        )
    elif args.command == "startup":
        result = startup.main(args.runs)
    elif args.command == "notify":
        result = notify(args.fills)
    elif args.command == "instructions":
        result = instructions.main(args.feed)
    elif args.command == "socket":
        result = socket_floor.main(args.frames, args.repeat)
    else:
        extra = {"footprint": ["--minutes", str(args.minutes), "--warmup", str(args.warmup)]}
        results: dict[str, Any] = {}
        for name in ("throughput", "ui", "latency", "notify", "startup", "footprint"):
            got = _in_own_process(name, extra.get(name, []))
            if got is None:
                say(f"{name} failed (see above)")
            else:
                results[name] = got
        summary(results)
    if result is not None and getattr(args, "json", None):
        Path(args.json).write_text(json.dumps(result))
    say(f"{_load()} at the end")


def notify(fills: int) -> Any:
    """tests/benchmarks/notify_latency.py on a private session bus with dunst as the daemon (as .ci/test
    runs the notification tests), so no desktop's notifications are touched."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "notify.json"
        script = (
            "dunst >/dev/null 2>&1 & sleep 1; "
            f"{sys.executable} tests/benchmarks/notify_latency.py --fills {fills} --json {out}; "
            "rc=$?; kill %1; exit $rc"
        )
        subprocess.run(["dbus-run-session", "--", "bash", "-c", script], check=True)
        return json.loads(out.read_text())


def _in_own_process(name: str, options: list[str]) -> Any:
    """One benchmark in a fresh process (a fresh heap: the footprint must not carry the throughput
    run's garbage), its figures back as JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.json"
        done = subprocess.run([sys.executable, "-m", "tests.benchmarks", name, *options, "--json", str(out)])
        return json.loads(out.read_text()) if done.returncode == 0 and out.exists() else None


def summary(r: dict[str, Any]) -> None:
    from tests.benchmarks.report import say

    say("\n== Summary (measured in this run)")
    for key, row in r.get("throughput", {}).items():
        if "skip" in row:
            say(f"throughput {key:<22} {row['skip']}")
            continue
        rates = {c: row[c]["rate"] for c in ("bare", "ours", "ccxt.pro") if isinstance(row.get(c), dict)}
        parts = [f"{c} {v:,.0f}/s" for c, v in rates.items()]
        if "ours" in rates and "bare" in rates:
            parts.append(f"ours/bare {rates['ours'] / rates['bare']:.2f}x")
        if "ours" in rates and "ccxt.pro" in rates:
            parts.append(f"ours/ccxt.pro {rates['ours'] / rates['ccxt.pro']:.2f}x")
        exact = row["ours"]["exact"] if isinstance(row.get("ours"), dict) else None
        say(f"throughput {key:<22} {', '.join(parts)}; ours exact: {exact}")
    if "ui" in r:
        u = r["ui"]
        say(
            f"ui stall p99 {u['stall_p99_ms']:.1f} ms, max {u['stall_max_ms']:.1f} ms; tables final {u['final_ms']:.0f} ms"
        )
    if "latency" in r:
        lat = r["latency"]
        say(f"latency p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms")
    if "notify" in r:
        n = r["notify"]
        say(
            f"fill frame -> Notify on the bus ({n['fills']} fills): p50 {n['p50_ms']:.1f} ms, p99 {n['p99_ms']:.1f} ms"
        )
    for step, v in r.get("startup", {}).items():
        say(
            f"startup to {step}: median {v['median']:.3f} s, max {v['max']:.3f} s (CPU used {v['cpu_median']:.2f} s)"
        )
    if "footprint" in r:
        f = r["footprint"]
        say(
            f"footprint RSS {f['rss_warmup']:.1f} MB after warm-up, {f['rss_end']:.1f} MB at end; growth "
            f"{f['growth_slope']:+.2f} MB/10 min (slope), {f['growth_endpoints']:+.2f} (endpoints); "
            f"idle CPU {f['idle_cpu']:.2%}"
        )
    say(TARGETS)


if __name__ == "__main__":
    main()
