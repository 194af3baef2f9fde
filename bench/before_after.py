"""The code before a change against the code now, in alternating runs (issue 16).

    python -m bench.before_after [--ref f8dbb89^1] [--after REF] [--events 50000] [--sessions 200000]
                                 [--rounds 3] [--backend sqlite|postgresql|both]

``--ref`` is exported with ``git archive`` into a temporary directory and run
from there with ``PYTHONPATH`` pointing at it, so each side runs its own
schema, server and benchmark scripts (bench.events and bench.usage, whose
output both sides print alike). The sides take turns, round after round, so a
noisy minute on the shared machine falls on both; each figure is the best of
its rounds, and each side's own baseline (executemany, SQL fetch + orjson) is
printed beside it to show how much of a difference is the machine's.

Targets (issue 16, richer sessions against main before their merge): event ingestion at
most 15% slower; the full usage document at least 90% of its rate before.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Main just before the richer sessions were merged (f8dbb89's first parent).
BEFORE = "f8dbb89^1"
RATE = re.compile(r"([\d,]+) (?:events|sessions)/s")
FIGURES = {
    "events": [
        ("ingestion baseline (executemany)", "baseline: driver executemany"),
        ("events over HTTP, 1 client, 1 worker", "sharelog over HTTP, 1 client, 1 worker"),
        ("events over HTTP, 2 clients, 2 workers", "sharelog over HTTP, 2 clients, 2 workers"),
    ],
    "usage": [
        ("document baseline (SQL fetch + orjson)", "(d) baseline"),
        ("full usage document over HTTP", "(b) full document over HTTP"),
    ],
}
# The figure each target is judged on, and the least ratio (after / before) it allows.
TARGETS = {
    "events over HTTP, 1 client, 1 worker": 0.85,
    "full usage document over HTTP": 0.90,
}


def export(ref: str, into: Path) -> None:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def run(tree: Path, module: str, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}:{tree}"}
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=tree, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"{module} failed in {tree}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# bench.events posts with http.client since 2026-12-03 and adds a row with
# httpx, its only client before: where a side prints that row, it is the one
# compared, so that both sides are timed through the same client.
SAME_CLIENT = ", httpx"


def rates(kind: str, output: str) -> dict[str, float]:
    found: dict[str, float] = {}
    lines = [x.strip() for x in output.splitlines()]
    for name, prefix in FIGURES[kind]:
        line = next((x for x in lines if x.startswith(prefix + SAME_CLIENT)), None)
        line = line or next((x for x in lines if x.startswith(prefix)), None)
        match = RATE.search(line or "")
        if match is None:
            sys.exit(f"no {name!r} in:\n{output}")
        found[name] = float(match.group(1).replace(",", ""))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", default=BEFORE, help="the code before the change")
    parser.add_argument("--after", help="the code after it (default: this working tree)")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    plan = {
        "events": ["--events", str(args.events), "--repeat", "1"],
        "usage": ["--sessions", str(args.sessions), "--small", "0"],
    }
    with tempfile.TemporaryDirectory(prefix="sharelog-ab-") as tmp:
        before, after = Path(tmp, "before"), Path(tmp, "after")
        before.mkdir()
        export(args.ref, before)
        if args.after:
            after.mkdir()
            export(args.after, after)
        sides = {"before": before, "after": after if args.after else ROOT}
        for backend in backends:
            best: dict[str, dict[str, float]] = {side: {} for side in sides}
            for round_ in range(args.rounds):
                # Alternate which side goes first, too.
                order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]
                for side, tree in order:
                    for kind, extra in plan.items():
                        output = run(tree, f"bench.{kind}", [*extra, "--backend", backend])
                        for name, rate in rates(kind, output).items():
                            best[side][name] = max(best[side].get(name, 0.0), rate)
            print(
                f"\n{backend}: {args.ref} (before) against {args.after or 'the working tree'} (after), "
                f"best of {args.rounds} alternating rounds; "
                f"{args.events:,} events, {args.sessions:,} sessions generated"
            )
            print(f"  {'figure':<42}{'before':>12}{'after':>12}{'after/before':>14}")
            for name in best["before"]:
                was, now = best["before"][name], best["after"][name]
                target = TARGETS.get(name)
                verdict = (
                    ""
                    if target is None
                    else f"  target >= {target:.0%}: "
                    + ("met" if now / was >= target else "MISSED")
                )
                print(f"  {name:<42}{was:>12,.0f}{now:>12,.0f}{now / was:>13.1%}{verdict}")


if __name__ == "__main__":
    main()
