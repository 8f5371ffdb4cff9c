"""What the hedge on where a recording's content ends costs and saves, on every rate condition of the benchmark
suites: LSD over sinc's, SNR and each octave's band power, by `top_hedge_db` (how far under the model's estimate a
rate input's band above 20 kHz is generated), for the references whose content ends by 20 kHz and for those that go
on. Markdown to stdout.

Nothing in a band-limited input says whether its recording stopped at 20 kHz (a microphone's or a production
low-pass's end, an encoder's) or went on to its Nyquist frequency; the model, taught on recordings that go on, puts a
band up to about 22 kHz. A reference "ends by 20 kHz" when its power over 20.5-22 kHz lies more than `ENDED_DB` under
its power over 16-19.5 kHz. The outputs are the benchmark's own (`nuwave.benchmark.evaluate`: the package's defaults
but the hedge, seed 0).

    python scripts/top_hedge.py > eval/results/top_hedge.md
"""

from __future__ import annotations

import argparse
import shlex
import sys

import numpy as np
import torch

from nuwave.benchmark.evaluate import (
    Suite,
    add_analysis_options,
    analysis_pipeline,
    file_metrics,
    outputs_by_file,
    rate_conditions,
    suite_file,
)
from nuwave.benchmark.metrics import log_power_spectrogram
from nuwave.benchmark.tables import markdown_table

SUITES = ("speech", "speech-pauses", "speech-44k", "music", "stereo")
# A reference whose 20.5-22 kHz lies this many dB under its 16-19.5 kHz has ended by 20 kHz.
ENDED_DB = 30.0


def top_drop_db(reference: np.ndarray, rate: int) -> float:
    """The power of `(T,)` or `(C, T)` `reference` over 20.5-22 kHz against 16-19.5 kHz, dB (LSD front end)."""
    power = 10.0 ** log_power_spectrogram(torch.from_numpy(np.atleast_2d(reference)).float())
    freqs = np.arange(power.shape[1]) * rate / (2 * (power.shape[1] - 1))
    band = lambda low, high: float(power[:, (freqs >= low) & (freqs < high)].mean())
    return 10.0 * np.log10(band(20500.0, 22000.0) / band(16000.0, 19500.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", help=f"suite name (repeatable; default: {', '.join(SUITES)})")
    parser.add_argument("--hedge", default="0,5,10,20", help="top_hedge_db values, comma-separated")
    add_analysis_options(parser)
    args = parser.parse_args()
    hedges = [float(value) for value in args.hedge.split(",")]
    pipe = analysis_pipeline(args.model)

    rows, octave_rows = [], []
    for name in args.suite or SUITES:
        suite = rate_conditions(Suite.load(suite_file(name), args.data))
        figures: dict[tuple[str, str], dict] = {}  # (condition, file) -> sinc's and each hedge's metrics
        for hedge in hedges:
            outputs = outputs_by_file(suite, pipe, args.steps, top_hedge_db=hedge)
            for (condition, stem, system), output in outputs.items():
                entry = figures.setdefault((condition, stem), {})
                key = hedge if system == "nuwave" else "sinc"
                if key in entry:  # sinc's output is the same at every hedge
                    continue
                reference = torch.from_numpy(output.reference).float()
                entry[key] = file_metrics(torch.from_numpy(output.audio).float(), reference, output.cutoff,
                                          suite.output_rate)
                if key == "sinc":
                    entry["drop"] = top_drop_db(output.reference, suite.output_rate)
        for condition in sorted({condition for condition, _ in figures}, key=lambda c: float(c.split("-")[1][:-1])):
            items = [entry for (c, _), entry in figures.items() if c == condition]
            groups = {"all": items, "ends by 20 kHz": [e for e in items if e["drop"] < -ENDED_DB],
                      "goes on": [e for e in items if e["drop"] >= -ENDED_DB]}
            for group, members in groups.items():
                if not members:
                    continue
                sinc = np.mean([e["sinc"]["lsd"] for e in members])
                ratios = [np.mean([e[h]["lsd"] for e in members]) / sinc for h in hedges]
                snrs = [np.mean([e[h]["snr"] - e["sinc"]["snr"] for e in members]) for h in hedges]
                rows.append([name, condition, group, len(members)] + [f"{r:.3f}" for r in ratios]
                            + [f"{s:+.2f}" for s in snrs])
            octaves = [key for key in ("band_db_1", "band_db_2", "band_db_3")
                       if np.isfinite([e[hedges[0]][key] for e in items]).any()]
            for key in octaves:
                octave_rows.append([name, condition, key[-1]] + [
                    f"{np.nanmean([e[h][key] for e in items]):+.2f}" for h in hedges])

    command = " ".join(["python scripts/top_hedge.py", shlex.join(sys.argv[1:])]).strip()
    print(f"Produced by `{command}`")
    print()
    print(f"LSD over sinc's and SNR - sinc's (dB) by `--top-hedge-db` (model `{args.model}`, {args.steps} steps, "
          f"seed 0), for every file of a rate condition, for the references whose content ends by 20 kHz (20.5-22 "
          f"kHz more than {ENDED_DB:g} dB under 16-19.5 kHz) and for those that go on.")
    print()
    header = ["suite", "condition", "references", "files"] + [f"LSD / sinc, {h:g} dB" for h in hedges] + [
        f"SNR - sinc, {h:g} dB" for h in hedges]
    print("\n".join(markdown_table(header, rows)))
    print()
    print("Each octave above the cutoff (the last one up to the Nyquist frequency): the output's power against the "
          "reference's in active frames, dB, the mean over files, by `--top-hedge-db`; the issue's bound is ±4 dB.")
    print()
    print("\n".join(markdown_table(["suite", "condition", "octave"] + [f"{h:g} dB" for h in hedges], octave_rows)))


if __name__ == "__main__":
    main()
