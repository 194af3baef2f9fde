"""``make bench``: every benchmark, each printing its figures and ratios to its baseline.

    python bench/run.py [--quick]

--quick runs each at a tenth of its size (for a look, not for the record).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL = [
    ["bench.events", "--events", "200000"],
    ["bench.usage", "--sessions", "1000000", "--small", "100000"],
    ["bench.geo_import", "--viewers", "5000"],
    ["bench.feed", "--sessions", "200000", "--events", "200000"],
    ["bench.load", "--seconds", "60"],
    ["bench.webhooks", "--events", "100000", "--messages", "10000"],
    ["bench.datasette", "--sessions", "150000", "--window", "70000"],
    ["bench.conditional", "--sessions", "20000", "--seconds", "5"],
    ["bench.before_after", "--events", "50000", "--sessions", "100000"],
    ["bench.import_memory", "--gigabytes", "2"],
]
QUICK = [
    ["bench.events", "--events", "20000"],
    ["bench.usage", "--sessions", "100000", "--small", "10000"],
    ["bench.geo_import", "--viewers", "5000", "--repeat", "2"],
    ["bench.feed", "--sessions", "20000", "--events", "20000"],
    ["bench.load", "--seconds", "10", "--sessions", "10000"],
    ["bench.webhooks", "--events", "10000", "--messages", "1000"],
    ["bench.datasette", "--sessions", "15000", "--window", "7000"],
    ["bench.conditional", "--sessions", "5000", "--seconds", "2"],
    ["bench.before_after", "--events", "5000", "--sessions", "10000", "--rounds", "1"],
    ["bench.import_memory", "--gigabytes", "0.2"],
]


def main() -> int:
    plan = QUICK if "--quick" in sys.argv else FULL
    for module, *args in plan:
        print(f"\n== {module} {' '.join(args)}", flush=True)
        code = subprocess.call([sys.executable, "-m", module, *args], cwd=ROOT)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
