"""What the hedge on where a recording's content ends costs and saves, on every rate condition of the benchmark
suites: LSD over sinc's, SNR and each octave's band power, by `top_hedge_db` (how far under the model's estimate a
rate input's band above 20 kHz is generated), for the references whose content ends by 20 kHz and for those that go
on. Markdown to stdout.

Nothing in a band-limited input says whether its recording stopped at 20 kHz (a microphone's or a production
low-pass's end, an encoder's) or went on to its Nyquist frequency; the model, taught on recordings that go on, puts a
band up to about 22 kHz. A reference "ends by 20 kHz" when its power over 20.5-22 kHz lies more than `ENDED_DB` under
its power over 16-19.5 kHz. The outputs are the benchmark's own (`nuwave.benchmark.evaluate`: the package's defaults
but the hedge, seed 0).

The pipeline does not hedge under a codec's cut. A last table measures what it would do there: every MP3 condition of
the suites with the hedge applied under the codec's cut as well (`hedged_under_codec_cuts`, for this measurement
only), against the decoded MP3. A mono MP3 at 96 kbit/s or more is cut at 20.2-20.5 kHz, so that its whole generated
band lies in the hedge's ramp or above it.

    python scripts/top_hedge.py > eval/results/top_hedge.md
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from dataclasses import replace
from unittest import mock

import numpy as np
import torch

import nuwave.inference.pipeline as pipeline_module
from nuwave.audio.degrade import is_codec
from nuwave.benchmark.evaluate import (
    Suite,
    add_analysis_options,
    analysis_pipeline,
    outputs_by_file,
    rate_conditions,
    suite_file,
)
from nuwave.benchmark.metrics import log_power_spectrogram
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.options import DEFAULT_TOP_HEDGE_DB

SUITES = ("speech", "speech-pauses", "speech-44k", "music", "stereo")
# A reference whose 20.5-22 kHz lies this many dB under its 16-19.5 kHz has ended by 20 kHz.
ENDED_DB = 30.0


def top_drop_db(reference: np.ndarray, rate: int) -> float:
    """The power of `(T,)` or `(C, T)` `reference` over 20.5-22 kHz against 16-19.5 kHz, dB (LSD front end)."""
    power = 10.0 ** log_power_spectrogram(torch.from_numpy(np.atleast_2d(reference)).float())
    freqs = np.arange(power.shape[1]) * rate / (2 * (power.shape[1] - 1))
    band = lambda low, high: float(power[:, (freqs >= low) & (freqs < high)].mean())
    return 10.0 * np.log10(band(20500.0, 22000.0) / band(16000.0, 19500.0))


def gather(figures: dict, outputs: dict, key, baseline: str, output_rate: int) -> None:
    """Each file's metrics into `figures[(condition, file)]`: the model's under `key`, the baseline system's output
    under `baseline` (the same at every setting: measured once), beside where its cutoff lies and how its
    reference's top ends (`top_drop_db`)."""
    for (condition, stem, system), output in outputs.items():
        entry = figures.setdefault((condition, stem), {})
        slot = key if system == "nuwave" else baseline
        if slot in entry:
            continue
        entry[slot] = output.metrics
        entry.setdefault("cut", output.cutoff)
        entry.setdefault("drop", top_drop_db(output.reference, output_rate))


def by_reference_end(items: list[dict]) -> dict[str, list[dict]]:
    """`gather`'s entries of one condition: all of them, those whose references end by 20 kHz and those that go on
    (the groups that have any)."""
    groups = {"all": items, "ends by 20 kHz": [e for e in items if e["drop"] < -ENDED_DB],
              "goes on": [e for e in items if e["drop"] >= -ENDED_DB]}
    return {group: members for group, members in groups.items() if members}


@contextlib.contextmanager
def hedged_under_codec_cuts():
    """Within it the pipeline hedges under a codec's cut too (its rule, `applied_top_hedge_db`, with the codec's
    exception left out): what the default would do if it hedged every input whose top is not given."""
    rule = lambda top_hedge_db, top, codec_cut: 0.0 if top is not None else float(top_hedge_db)
    with mock.patch.object(pipeline_module, "applied_top_hedge_db", rule):
        yield


def codec_rows(suite: Suite, pipe, steps: int, name: str) -> list[list[str]]:
    """The MP3 conditions of `suite`: LSD over the decoded MP3's and octave 1's band power, as the pipeline does
    (no hedge under a codec's cut) and with `DEFAULT_TOP_HEDGE_DB` there, for every file, those whose references
    end by 20 kHz and those that go on."""
    suite = replace(suite, degradations=tuple(d for d in suite.degradations if is_codec(d)))
    figures: dict[tuple[str, str], dict] = {}  # (condition, file) -> the decoded MP3's and each setting's metrics
    for key in ("default", "hedged"):
        with hedged_under_codec_cuts() if key == "hedged" else contextlib.nullcontext():
            gather(figures, outputs_by_file(suite, pipe, steps, systems=("input", "nuwave")), key, "input",
                   suite.output_rate)
    rows = []
    for condition in sorted({condition for condition, _ in figures}):
        items = [entry for (c, _), entry in figures.items() if c == condition]
        for group, members in by_reference_end(items).items():
            decoded = np.mean([e["input"]["lsd"] for e in members])
            cells = [f"{np.mean([e[k]['lsd'] for e in members]) / decoded:.3f}" for k in ("default", "hedged")]
            octave = [f"{np.nanmean([e[k]['band_db_1'] for e in members]):+.2f}" for k in ("default", "hedged")]
            rows.append([name, condition, group, f"{len(members)}",
                         f"{np.mean([e['cut'] for e in members]) / 1000:.1f}", *cells, *octave])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", help=f"suite name (repeatable; default: {', '.join(SUITES)})")
    parser.add_argument("--hedge", default="0,5,10,20", help="top_hedge_db values, comma-separated")
    add_analysis_options(parser)
    args = parser.parse_args()
    hedges = [float(value) for value in args.hedge.split(",")]
    pipe = analysis_pipeline(args.model)

    rows, octave_rows, mp3_rows = [], [], []
    for name in args.suite or SUITES:
        whole = Suite.load(suite_file(name), args.data)
        mp3_rows += codec_rows(whole, pipe, args.steps, name)
        suite = rate_conditions(whole)
        figures: dict[tuple[str, str], dict] = {}  # (condition, file) -> sinc's and each hedge's metrics
        for hedge in hedges:
            gather(figures, outputs_by_file(suite, pipe, args.steps, top_hedge_db=hedge), hedge, "sinc",
                   suite.output_rate)
        for condition in sorted({condition for condition, _ in figures}, key=lambda c: float(c.split("-")[1][:-1])):
            items = [entry for (c, _), entry in figures.items() if c == condition]
            for group, members in by_reference_end(items).items():
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
    print()
    print(f"MP3 conditions (the pipeline does not hedge under a codec's cut): LSD over the decoded MP3's and octave 1 "
          f"above the cut (active frames, dB, the mean over files) as the pipeline does, and hedged there too "
          f"({DEFAULT_TOP_HEDGE_DB:g} dB over the same ramp). `cut`: where the cutoff was detected, the mean over "
          f"files.")
    print()
    header = ["suite", "condition", "references", "files", "cut (kHz)", "LSD / decoded", "LSD / decoded, hedged",
              "octave 1 (dB)", "octave 1, hedged (dB)"]
    print("\n".join(markdown_table(header, mp3_rows)))


if __name__ == "__main__":
    main()
