"""Run every benchmark (``benchmarks/*.py``) in turn and print one JSON document with their figures.

Benchmarks measure speed; tests never do. Each benchmark also runs on its own:
``python -m benchmarks.subtitles``, ``python -m benchmarks.asr``, ``python -m benchmarks.long_text``,
``python -m benchmarks.overlap``, ``python -m benchmarks.batch``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = ["subtitles", "asr", "long_text", "overlap", "batch"]


def main() -> int:
    results: dict[str, object] = {}
    failed = False
    for name in BENCHMARKS:
        if not (Path(__file__).parent / f"{name}.py").exists():
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], capture_output=True, text=True)
        try:
            results[name] = json.loads(done.stdout)
        except json.JSONDecodeError:
            results[name] = {"ok": False, "exit_code": done.returncode, "stderr": done.stderr[-2000:]}
        failed = failed or done.returncode != 0
    print(json.dumps(results, indent=2))
    for name, result in results.items():  # a benchmark's "table" rows: each figure beside its anchor
        rows = result.get("table") if isinstance(result, dict) else None
        if rows:
            print(f"\n{name}:", file=sys.stderr)
            for row in rows:
                print(f"  {row['figure']}: {row['value']}  (anchor {row['anchor']})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
