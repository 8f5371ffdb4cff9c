"""Set benchmark reports of several models side by side, condition by condition: the LSD over the baseline's
(sinc on a rate condition, the decoded input on a codec's), the SNR less the baseline's, the first octave above the
cutoff in active frames and the band in pauses against the reference's, the model at one step count.

    python scripts/compare_reports.py eval/results/band_limited/previous eval/results/band_limited/sharp \\
        eval/results --suite speech --suite music --suite speech-pauses --suite stereo --suite speech-44k
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nuwave.benchmark.tables import baseline, by_key, conditions, markdown_table


def cells(summary: list[dict], condition: str, steps: int) -> list[str]:
    """LSD / baseline, SNR - baseline (dB), octave 1 (dB), pauses (dB) of the model at `steps` on `condition`."""
    rows = by_key(summary)
    model = rows.get((condition, "nuwave", steps))
    if model is None:
        return ["-"] * 4
    base = baseline(rows, condition)
    return [f"{model['lsd'] / base['lsd']:.3f}", f"{model['snr'] - base['snr']:+.2f}", f"{model['band_db_1']:+.1f}",
            f"{model['pause_db']:+.1f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", type=Path, nargs="+", help="folders holding one report folder per suite")
    parser.add_argument("--suite", action="append", required=True)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    header = ["suite", "condition"]
    for root in args.roots:
        header += [f"{root}: LSD / baseline", "SNR - baseline (dB)", "octave 1 (dB)", "pauses (dB)"]
    lines = []
    for suite in args.suite:
        summaries = [json.loads((root / suite / "results.json").read_text())["summary"] for root in args.roots]
        for condition in conditions(summaries[0]):
            row = [c for summary in summaries for c in cells(summary, condition, args.steps)]
            lines.append([suite, condition, *row])
    print("\n".join(markdown_table(header, lines)))


if __name__ == "__main__":
    main()
