"""Where an MP3's spectral holes are found and filled (`nuwave.audio.dsp.fill_codec_holes`): the LSD of the model's
output over the decoded input's, without the fill and for each depth and zone a hole is looked for with, on files of
the training split (never the benchmark's), written as markdown to stdout.

An encoder short of bits quantises whole scale-factor bands of its top to zero, granule by granule; the pipeline
keeps the decoded input up to the codec's cutoff but for bins that lie `hole_db` or more under the generated
signal from `zone` x the cutoff up, which it takes from the generated signal brought to the input's level around
them. Too shallow a depth takes natural valleys of the input for holes; too deep a one leaves holes open. Each
cell: the mean over files of the output's LSD (the benchmark's) over the decoded input's, every file turned into a
constant-bit-rate MP3 at 48 kHz, its cutoff detected and the model run once under the codec's cut (8 steps, seed
0); the fill and the merge are then redone for each setting on that same generated signal. Files: N lossless
voices and N lossless music files of the training split whose content reaches 19 kHz, 1 to 6 s of each.

    python scripts/codec_holes.py --files 10 > eval/results/codec_holes.md
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch
from coherence_ceiling import training_files

from nuwave.audio.cutoff import detect_cutoff
from nuwave.audio.degrade import Degradation
from nuwave.audio.dsp import HOLE_DB, HOLE_ZONE, fill_codec_holes, merge_known_band
from nuwave.benchmark.evaluate import analysis_pipeline, load_reference
from nuwave.benchmark.metrics import lsd_split
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.options import DEFAULT_MODEL
from nuwave.inference.pipeline import merge_shares

RATE = 48000
BIT_RATES = (64, 96, 128)
DEPTHS_DB = (20.0, 30.0, 40.0, 50.0)
ZONES = (0.5, 0.6, 0.7)


def lsd(output: torch.Tensor, reference: torch.Tensor) -> float:
    return float(lsd_split(output, reference, RATE / 2, RATE)["lsd"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--files", type=int, default=10, help="how many voices and how many music files")
    args = parser.parse_args()
    pipe = analysis_pipeline(DEFAULT_MODEL)
    settings = list(itertools.product(DEPTHS_DB, ZONES))
    rows = []
    for kind in ("speech", "music"):
        paths = training_files(args.data, kind, args.files, 1.0)
        references = [load_reference(path, RATE)[: 6 * RATE] for path in paths]
        for kbps in BIT_RATES:
            ratios = []
            for reference in references:
                decoded, _ = Degradation("mp3", kbps=kbps).apply(reference, RATE)
                cutoff = detect_cutoff([decoded[None]], RATE)
                generated = pipe(decoded, RATE, RATE, cutoff=cutoff, codec_cut=True, keep_known_band=False,
                                 generator=torch.Generator().manual_seed(0)).audios
                known, generated = (torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]
                                    for x in (decoded, generated))
                band = torch.tensor([cutoff / (RATE / 2)])
                target = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float32))
                merged = lambda k: merge_known_band(generated, k, band, *merge_shares(True))[0, 0]
                base = lsd(known[0, 0], target)
                ratios.append([lsd(merged(known), target) / base]
                              + [lsd(merged(fill_codec_holes(known, generated, band, RATE, depth, zone)), target)
                                 / base for depth, zone in settings])
            rows.append([kind, f"{kbps}", f"{len(references)}",
                         *(f"{value:.3f}" for value in np.mean(ratios, axis=0))])
    print(f"Produced by `python scripts/codec_holes.py --files {args.files}`\n")
    print(f"The model's LSD over the decoded MP3's, mean over files (training split; the pipeline's setting: "
          f"{HOLE_DB:g} dB from {HOLE_ZONE:g} x the cutoff).\n")
    header = ["files", "kbit/s", "n", "no fill", *(f"{depth:g} dB from {zone:g}" for depth, zone in settings)]
    print("\n".join(markdown_table(header, rows)))


if __name__ == "__main__":
    with torch.no_grad():
        sys.exit(main())
