"""The README's headline table from committed benchmark reports: per setting, sinc against nuwave at a step
count (LSD, its ratio to sinc's, LSD-HF, SNR and its difference to sinc's, RTF), mean ± std over the report's seeds.

    python scripts/headline.py eval/results/speech/results.json eval/results/music/results.json --steps 8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    print(f"| suite | input | sinc LSD | nuwave LSD ({args.steps} steps) | ratio | sinc LSD-HF | nuwave LSD-HF "
          "| sinc SNR (dB) | nuwave SNR (dB) | SNR - sinc (dB) | nuwave RTF |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in args.results:
        results = json.loads(path.read_text())
        rows = {(r["condition"], r["system"], r["steps"]): r for r in results["summary"]}
        for condition in dict.fromkeys(r["condition"] for r in results["summary"]):
            model = rows.get((condition, "nuwave", args.steps))
            # the codec condition has no sinc system: its baseline is the decoded input
            base = rows.get((condition, "sinc", None)) or rows[(condition, "input", None)]
            if model is None:
                continue
            note = "" if base["system"] == "sinc" else " (baseline: decoded input)"
            print(f"| {results['suite']} | {condition}{note} "
                  f"| {base['lsd']:.3f} | {model['lsd']:.3f} ± {model['lsd_std']:.3f} | {model['lsd'] / base['lsd']:.2f} "
                  f"| {base['lsd_hf']:.3f} | {model['lsd_hf']:.3f} | {base['snr']:.2f} | {model['snr']:.2f} ± "
                  f"{model['snr_std']:.2f} | {model['snr'] - base['snr']:+.2f} | {model['rtf']:.3f} |")


if __name__ == "__main__":
    main()
