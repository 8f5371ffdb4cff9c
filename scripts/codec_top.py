"""How the band above an MP3's cut is held (`NuWavePipeline.__call__`'s `codec_cut`): under the level of the input's
top, or under that level falling at the slope of the input's own top (`nuwave.audio.cutoff.top_slope`, the default
before this report), on files of the training split (never the benchmark's), written as markdown to stdout.

Each cell: the mean over files of the output's LSD (the benchmark's) over the decoded input's, and of the band power
of the first octave above the cutoff in active frames against the reference's (dB, `band_db_1`), each file turned
into a constant-bit-rate MP3 at the suite's rate, its cutoff detected, the model run once (8 steps, seed 0) with each
setting. Files: N lossless voices and N lossless music files of the training split whose content reaches 19 kHz
(mono, 48 kHz), and N stereo music files (44.1 kHz, both channels), 1 to 6 s of each.

    python scripts/codec_top.py --files 10 > eval/results/codec_top.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from coherence_ceiling import training_files

from nuwave.audio.cutoff import SpectrumAccumulator, top_slope
from nuwave.audio.degrade import Degradation
from nuwave.benchmark.evaluate import analysis_pipeline, file_metrics, load_reference
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.options import DEFAULT_MODEL

BIT_RATES = (64, 96, 128)
SECONDS = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--files", type=int, default=10, help="how many files of each set")
    args = parser.parse_args()
    pipe = analysis_pipeline(DEFAULT_MODEL)
    sets = [("speech", 48000, False, training_files(args.data, "speech", args.files, 1.0)),
            ("music", 48000, False, training_files(args.data, "music", args.files, 1.0)),
            ("stereo music", 44100, True, training_files(args.data, "music", args.files, 1.0, channels=2))]
    rows = []
    for name, rate, stereo, paths in sets:
        references = [load_reference(path, rate, stereo=stereo)[..., : SECONDS * rate] for path in paths]
        for kbps in BIT_RATES:
            cells = []  # per file: (level LSD ratio, level octave 1, slope LSD ratio, slope octave 1)
            for reference in references:
                decoded, _ = Degradation("mp3", kbps=kbps).apply(reference, rate)
                channels = np.atleast_2d(decoded)
                accumulator = SpectrumAccumulator()
                accumulator.update(channels)
                cutoff = accumulator.cutoff(rate)
                if cutoff >= 0.98 * rate / 2:  # full band: nothing is generated either way
                    continue
                slope = top_slope(accumulator.spectrum(), rate, cutoff)
                target = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
                base = file_metrics(torch.from_numpy(np.ascontiguousarray(decoded)), target, cutoff, rate)["lsd"]
                row = []
                for setting in (None, slope):
                    output = pipe(decoded, rate, rate, cutoff=cutoff, codec_cut=True, top_slope=setting,
                                  generator=torch.Generator().manual_seed(0)).audios
                    values = file_metrics(torch.from_numpy(np.ascontiguousarray(output)), target, cutoff, rate)
                    row += [values["lsd"] / base, values["band_db_1"]]
                cells.append(row)
            mean = np.nanmean(np.asarray(cells, dtype=np.float64), axis=0)
            rows.append([name, f"{kbps}", f"{len(cells)}", f"{mean[0]:.3f}", f"{mean[1]:+.1f}", f"{mean[2]:.3f}",
                         f"{mean[3]:+.1f}"])
    print(f"Produced by `python scripts/codec_top.py --files {args.files}`\n")
    print("Training split. LSD: the model's over the decoded MP3's, mean over files; octave 1: the band power of the "
          "first octave above the cutoff in active frames against the reference's, dB, mean over files. `level`: "
          "the band held under the level of the input's top (the pipeline's default); `top's slope`: under that "
          "level falling at the slope of the input's own top (`top_slope=nuwave.audio.cutoff.top_slope(...)`).\n")
    header = ["files", "kbit/s", "n", "LSD, level", "octave 1, level (dB)", "LSD, top's slope",
              "octave 1, top's slope (dB)"]
    print("\n".join(markdown_table(header, rows)))


if __name__ == "__main__":
    with torch.no_grad():
        sys.exit(main())
