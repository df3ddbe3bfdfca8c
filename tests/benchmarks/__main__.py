"""`python -m tests.benchmarks [throughput|ui|latency|footprint|startup|all] [options]`: see README."""

from __future__ import annotations

import argparse

from tests.benchmarks.feeds import all_feeds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    tp = commands.add_parser("throughput", help="frames/s per feed: bare vs ours vs ccxt.pro")
    tp.add_argument("--feed", action="append", choices=[f.key for f in all_feeds()], help="only these feeds")
    tp.add_argument("--frames", type=int, help="frames per burst (default: each feed's own)")
    tp.add_argument("--repeat", type=int, default=3, help="runs per client and feed; the median is shown")
    args = parser.parse_args()
    if args.command == "throughput":
        from tests.benchmarks import throughput

        throughput.main(args.feed, args.frames, args.repeat)


if __name__ == "__main__":
    main()
