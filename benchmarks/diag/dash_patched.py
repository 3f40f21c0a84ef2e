"""``debugdash`` with candidate fixes applied first: python dash_patched.py PATCH,... ARGS...

PATCH is a comma-separated list from ``patches.py`` ("-" for none). With
DEBUGDASH_BENCH_PROFILE set, the process is profiled (CPU time) and the
stats are dumped to that path when it exits.
"""

from __future__ import annotations

import cProfile
import os
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[2])

from benchmarks.diag import patches  # noqa: E402


def main() -> None:
    names = [n for n in sys.argv[1].split(",") if n and n != "-"]
    patches.apply(names)
    sys.argv = ["debugdash", *sys.argv[2:]]
    from debugdash.cli import main as debugdash

    path = os.environ.get("DEBUGDASH_BENCH_PROFILE")
    profile = cProfile.Profile(time.process_time) if path else None
    if profile:
        profile.enable()
    try:
        debugdash()
    finally:
        if profile:
            profile.disable()
            profile.dump_stats(path)


if __name__ == "__main__":
    main()
