"""How far over or under the reference a model's envelope predictor puts the octave above the cutoff, by the filter
that made the input: a table per model, cutoff and filter, written as markdown to stdout.

A low-rate file is mostly made by a sample-rate conversion, flat to just under its cutoff; a low-order low-pass has
already taken several dB off the input's top there. A predictor that reads the band's level against the input's
top learns, from training conditions made through such filters, a band louder than that top; given a sharp cut it
then puts the band over the reference's. Each cell, the mean over voices, the input made from the reference by that
filter and a soxr round trip through twice the cutoff, as training and the benchmark make theirs: the predicted minus
the reference's log band power (dB, the mean over the active frames of the envelope's bands that lie in the octave
above the cutoff: the level the predictor's log-power loss aims at), then the octave's predicted over the reference's
energy over those frames (dB, as the benchmark's `band_db_1` weighs it, dominated by the loudest frames and bands).
Voices: N of the training split's lossless voices (`coherence_ceiling.training_voices`) and the held-out speech
suite's references.

    python scripts/envelope_bias.py --model nuwave-base --voices 30 > eval/results/envelope_bias.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from coherence_ceiling import training_voices

from nuwave.audio.degrade import lowpass, round_trip
from nuwave.audio.dsp import level_gain
from nuwave.benchmark.evaluate import Suite, load_reference, suite_file
from nuwave.benchmark.metrics import ACTIVE_DB
from nuwave.benchmark.tables import markdown_table
from nuwave.models.envelope import band_edges, band_log_power

RATE = 48000
CUTOFFS = (4000.0, 6000.0, 8000.0, 12000.0)
# name -> (kind, order, ripple dB, zero phase) of the low-pass before the round trip; None: the round trip alone.
FILTERS = {
    "resampler alone": None,
    "Chebyshev I 8, zero phase (the benchmark's)": ("cheby1", 8, 0.05, True),
    "elliptic 10": ("ellip", 10, 0.1, False),
    "Butterworth 4": ("butter", 4, 0.05, False),
    "Butterworth 2, zero phase": ("butter", 2, 0.05, True),
    "Bessel 4, zero phase": ("bessel", 4, 0.05, True),
}


def octave_error(denoiser, reference: np.ndarray, cutoff: float, design) -> tuple[float, float]:
    """For the input `design` makes from `reference` `(T,)` at `RATE`, over the envelope bands in the octave above
    `cutoff` and the active frames: the predicted minus the reference's log power (dB, the mean over bands and
    frames), and the predicted over the reference's energy (dB)."""
    filtered = reference if design is None else lowpass(reference, RATE, cutoff, *design[:3], zero_phase=design[3])
    cond = torch.from_numpy(np.ascontiguousarray(round_trip(filtered, RATE, 2 * cutoff), dtype=np.float32))[None, None]
    gain = level_gain(cond)
    cond = cond * gain
    band = torch.tensor([cutoff / (RATE / 2)])
    predicted = denoiser.predict_envelope(cond, band)[0]
    truth = denoiser.spectrum(torch.from_numpy(reference)[None, None].float() * gain).abs().square()
    target = band_log_power(truth, band, predicted.shape[0])[0][0]
    frame_db = 10 * torch.log10(truth[0].sum(0).clamp_min(1e-30))
    active = frame_db >= frame_db.max() - ACTIVE_DB
    edges = band_edges(truth.shape[1], predicted.shape[0]).float() / (truth.shape[1] - 1) * RATE / 2
    octave = (edges[:-1] >= cutoff) & (edges[1:] <= 2 * cutoff)
    predicted, target = predicted[octave][:, active].double(), target[octave][:, active].double()
    energy = (10 ** predicted).sum() / (10 ** target).sum()
    return float(10 * (predicted - target).mean()), float(10 * torch.log10(energy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="a shipped model or a model folder")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--voices", type=int, default=30, help="how many of the training split's lossless voices")
    args = parser.parse_args()

    from nuwave.inference.loading import load_pipeline

    sets = {f"train ({args.voices} voices)": training_voices(args.data, args.voices),
            "held-out speech": Suite.load(suite_file("speech"), args.data).files}
    references = {name: [np.atleast_2d(load_reference(path, RATE))[0] for path in files]
                  for name, files in sets.items()}
    rows = []
    for model in args.model:
        denoiser = load_pipeline(model, "cpu").denoiser
        for name, voices in references.items():
            for cutoff in CUTOFFS:
                cells = ["{:+.1f} / {:+.1f}".format(*np.mean([octave_error(denoiser, v, cutoff, design)
                                                             for v in voices], axis=0))
                         for design in FILTERS.values()]
                rows.append([model, f"{name}, {len(voices)}", f"{cutoff / 1000:g} kHz", *cells])
    print("Produced by `python scripts/envelope_bias.py "
          + " ".join(f"--model {shlex.quote(m)}" for m in args.model) + f" --voices {args.voices}`\n")
    print("The envelope's octave above the cutoff against the reference's, dB, by the low-pass the input was made "
          "with (then a soxr round trip through twice the cutoff): the mean log band power error over the active "
          f"frames (within {ACTIVE_DB:g} dB of the loudest) / the octave's energy over the reference's in those "
          "frames (as the benchmark's `band_db_1` weighs it); each the mean over voices.\n")
    print("\n".join(markdown_table(["model", "voices", "cutoff", *FILTERS], rows)))


if __name__ == "__main__":
    with torch.no_grad():
        sys.exit(main())
