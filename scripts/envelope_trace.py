"""The missing band's level frame by frame: the reference's, each model's predicted envelope, and the level of the
input's top, for one file under the benchmark's standard degradation. Prints a Markdown table (every `--every`-th
frame of the first `--seconds`) and, per model, the band's power over active frames against the reference's.

    python scripts/envelope_trace.py data/audio/hydrogen-drumkits/...__hhopen_02.flac --input-rate 22050 \\
        --model runs/nuwave-base-run4 --model nuwave-base

Levels in dB of the level-normalised signal (the model's working level), the band being everything above the
input's Nyquist frequency up to 24 kHz, as the envelope predictor sees it (`nuwave.models.envelope`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from nuwave.audio.degrade import Degradation
from nuwave.audio.dsp import level_gain, resample
from nuwave.audio.files import read_audio
from nuwave.benchmark.metrics import ACTIVE_DB
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models.envelope import POWER_FLOOR, top_level


def db(power: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(power.clamp_min(POWER_FLOOR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--input-rate", type=int, required=True)
    parser.add_argument("--model", action="append", required=True, help="shipped model names or folders")
    parser.add_argument("--every", type=int, default=3, help="show every N-th frame")
    parser.add_argument("--seconds", type=float, default=1.0, help="show the first N seconds")
    args = parser.parse_args()
    pipes = [NuWavePipeline.from_pretrained(model) for model in args.model]
    rate = pipes[0].model_rate
    audio, file_rate = read_audio(args.file)
    reference = audio.mean(axis=0)
    reference = resample(reference, file_rate, rate) if file_rate != rate else reference
    low, low_rate = Degradation("standard", args.input_rate).apply(reference, rate)
    cond = torch.from_numpy(np.asarray(resample(low, low_rate, rate, reference.shape[-1]), np.float32))[None, None]
    target = torch.from_numpy(np.asarray(reference, np.float32))[None, None]
    gain = level_gain(cond)
    bandwidth = torch.tensor([low_rate / 2 / (rate / 2)])
    denoiser = pipes[0].denoiser
    with torch.no_grad():
        bands, mask = denoiser.envelope_target(target * gain, bandwidth)
        used = mask[0].bool()
        reference_power = 10 ** bands[0][used]  # (bands above the cutoff, frames)
        power = denoiser.spectrum(cond * gain).abs().square()
        level = top_level(power, bandwidth, rate)
        top = db(level[0])
        predicted = [10 ** pipe.denoiser.predict_envelope(cond * gain, bandwidth, power, level)[0][used]
                     for pipe in pipes]
    reference_band = db(reference_power.mean(0))
    predicted_band = [db(p.mean(0)) for p in predicted]
    # frames within the benchmark's ACTIVE_DB of the reference band's loudest frame count as active
    active = reference_band > reference_band.max() - ACTIVE_DB
    hop_seconds = denoiser.config.hop_length / rate
    frames = range(0, min(reference_band.shape[0], int(args.seconds / hop_seconds) + 1), args.every)
    header = ["time (s)", "input's top (dB)", "reference band (dB)"] + [f"{m} (dB)" for m in args.model]
    rows = [[f"{index * hop_seconds:.3f}", f"{top[index]:.1f}", f"{reference_band[index]:.1f}"]
            + [f"{band[index]:.1f}" for band in predicted_band] for index in frames]
    print(f"Produced by `python scripts/envelope_trace.py {args.file} --input-rate {args.input_rate} "
          + " ".join(f"--model {m}" for m in args.model) + f" --every {args.every} --seconds {args.seconds:g}`")
    print()
    print("\n".join(markdown_table(header, rows)))
    print()
    summary = []
    for model, p, band in zip(args.model, predicted, predicted_band):
        ratio = 10 * torch.log10(p[:, active].mean() / reference_power[:, active].mean())
        spread = (reference_band - band)[active].std()
        summary.append([model, f"{float(ratio):+.1f}", f"{float(spread):.1f}"])
    print("\n".join(markdown_table(["model", "band power over active frames - reference's (dB)",
                                    "spread of the frame-by-frame difference (dB)"], summary)))


if __name__ == "__main__":
    main()
