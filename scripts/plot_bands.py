"""Draw a committed benchmark report's band figure (`bands.png`: the generated band's octave errors in active
frames, its level in pauses, the LSD of active and pause frames and, for stereo, the band's L/R correlation) from
its `results.json`, without running the benchmark again; `nuwave eval` draws the same figure with each report.

    python scripts/plot_bands.py eval/results/speech eval/results/music eval/results/speech-pauses \\
        eval/results/stereo eval/results/speech-44k
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nuwave.benchmark.figures import plot_band_diagnostics
from nuwave.benchmark.report import band_correlations
from nuwave.inference.options import DEFAULT_STEPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", type=Path, help="folders holding a results.json")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="the model's step count to show")
    args = parser.parse_args()
    for folder in args.reports:
        results = json.loads((folder / "results.json").read_text())
        path = folder / "bands.png"
        plot_band_diagnostics(results["summary"], path, args.steps, band_correlations(results["records"], args.steps))
        print(path)


if __name__ == "__main__":
    main()
