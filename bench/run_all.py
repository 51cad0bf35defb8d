"""`make bench`: every benchmark in turn, each in its own interpreter, output as it goes."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["bench.platform", "--jobs", "5000"],
    ["bench.markdown"],
    # Robustness: the committed wild regression files and the benchmark documents; point it at
    # a corpus for more (`python -m bench.sweep ../shared/corpora/pdfs-wild`).
    ["bench.sweep"],
    ["bench.extraction"],
    ["bench.training"],
    ["bench.client"],
    ["bench.batches"],
    ["bench.scaleout"],
    ["bench.load"],
]


def main() -> None:
    failed = []
    for module, *args in BENCHMARKS:
        print(f"\n=== {module} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, "-m", module, *args]).returncode != 0:
            failed.append(module)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
