"""The quality targets of the generated band, checked against committed benchmark reports: one line per target
and condition with the measured value, the bound and whether it holds. Prints a Markdown table.

    python scripts/check_targets.py eval/results/speech eval/results/music eval/results/speech-pauses \
        eval/results/stereo --steps 8 > eval/results/targets.md

Targets (at the default settings, `--steps` steps; bounds in `nuwave.benchmark.tables`): LSD at most 0.45 x
sinc's on every rate condition; on the 128 kbit/s MP3 condition at most 0.9 x the decoded input's; in active
frames every octave above the cutoff within ±4 dB of the reference's power; in pauses the band above the input
at most 10 dB over the reference's; inside digital silence the output below -90 dBFS; LSD at 16 and 32 steps at
most 0.02 above the LSD at 8; SNR at most 1.5 dB under sinc's; stereo: the band's L/R correlation at most -0.9
for opposite channels and within ±0.3 for unrelated ones (stereo suite, per file).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nuwave.benchmark.tables import targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+", help="folders (or results.json files) of nuwave eval")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    results = [json.loads((path / "results.json" if path.is_dir() else path).read_text()) for path in args.reports]
    print(f"Produced by `python scripts/check_targets.py {' '.join(map(str, args.reports))} --steps {args.steps}`")
    print()
    print("\n".join(targets(results, args.steps)))


if __name__ == "__main__":
    main()
