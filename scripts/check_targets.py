"""The quality targets of the generated band, checked against committed benchmark reports: one line per target
and condition with the measured value, the bound and whether it holds. Prints a Markdown table.

    python scripts/check_targets.py eval/results/speech eval/results/music eval/results/speech-pauses \
        eval/results/stereo --steps 8 > eval/results/targets.md

Targets (at the default settings, `--steps` steps): LSD at most 0.45 x sinc's on every rate condition; on the
128 kbit/s MP3 condition at most 0.9 x the decoded input's; in active frames every octave above the cutoff within
±4 dB of the reference's power; in pauses the band above the input at most 10 dB over the reference's; inside
digital silence the output below -90 dBFS; LSD at 16 and 32 steps at most 0.02 above the LSD at 8; SNR at most
1.5 dB under sinc's; stereo: the band's L/R correlation at most -0.9 for opposite channels and within ±0.3 for
unrelated ones (stereo suite, per file).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def rows_of(results: dict) -> dict:
    return {(r["condition"], r["system"], r["steps"]): r for r in results["summary"]}


def checks(results: dict, steps: int) -> list[tuple[str, str, float, str, bool]]:
    """(condition, target, measured, bound, holds) for one suite's results."""
    rows = rows_of(results)
    out = []
    for condition in dict.fromkeys(r["condition"] for r in results["summary"]):
        model = rows.get((condition, "nuwave", steps))
        if model is None:
            continue
        sinc = rows.get((condition, "sinc", None))
        if sinc is not None:
            ratio = model["lsd"] / sinc["lsd"]
            out.append((condition, "LSD / sinc's", ratio, "<= 0.45", ratio <= 0.45))
            gap = model["snr"] - sinc["snr"]
            out.append((condition, "SNR - sinc's (dB)", gap, ">= -1.5", gap >= -1.5))
        else:
            base = rows[(condition, "input", None)]
            ratio = model["lsd"] / base["lsd"]
            out.append((condition, "LSD / decoded input's", ratio, "<= 0.9", ratio <= 0.9))
        for octave in (1, 2, 3):
            value = model.get(f"band_db_{octave}", float("nan"))
            if np.isfinite(value):
                out.append((condition, f"octave {octave} above the cutoff, active frames (dB)", value, "within ±4",
                            abs(value) <= 4))
        for key, name, bound, holds in (("pause_db", "band in pauses over the reference's (dB)", "<= 10",
                                         lambda v: v <= 10),
                                        ("silence_dbfs", "output inside digital silence (dBFS)", "< -90",
                                         lambda v: v < -90)):
            value = model.get(key, float("nan"))
            if np.isfinite(value):
                out.append((condition, name, value, bound, holds(value)))
        for more in (16, 32):
            other = rows.get((condition, "nuwave", more))
            if other is not None:
                worse = other["lsd"] - model["lsd"]
                out.append((condition, f"LSD at {more} steps - at {steps}", worse, "<= 0.02", worse <= 0.02))
    if results["suite"] == "stereo":
        for record in results["records"]:
            if record["system"] != "nuwave" or record["steps"] != steps or record["run"] != 0:
                continue
            name = Path(record["file"]).stem
            value = record["metrics"]["band_corr"]
            if name.startswith("opposite"):
                out.append((f"{record['condition']} {name}", "band L/R correlation", value, "<= -0.9", value <= -0.9))
            elif name.startswith("unrelated"):
                out.append((f"{record['condition']} {name}", "band L/R correlation", value, "within ±0.3",
                            abs(value) <= 0.3))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+", help="folders (or results.json files) of nuwave eval")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    print(f"Produced by `python scripts/check_targets.py {' '.join(map(str, args.reports))} --steps {args.steps}`")
    print()
    print("| suite | condition | target | measured | bound | holds |")
    print("|---|---|---|---|---|---|")
    held = total = 0
    for path in args.reports:
        results = json.loads((path / "results.json" if path.is_dir() else path).read_text())
        for condition, target, value, bound, holds in checks(results, args.steps):
            verdict = "yes" if holds else "NO"
            print(f"| {results['suite']} | {condition} | {target} | {value:+.3f} | {bound} | {verdict} |")
            held, total = held + holds, total + 1
    print()
    print(f"{held} of {total} targets hold.")


if __name__ == "__main__":
    main()
