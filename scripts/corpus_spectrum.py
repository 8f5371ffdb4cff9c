"""Print the long-term spectrum of training segments as the diffusion model meets them, before and after the
spectral tilt of the diffusion domain (`nuwave.audio.dsp.spectral_tilt`): the measurement behind the tilt's slope.

    python scripts/corpus_spectrum.py > eval/results/corpus_spectrum.md

Segments are drawn as `scripts/train_base.sh` draws them (speech and music manifests at equal shares, random
gain, the same seed rule) and brought to the working level by `level_gain`, as in training. Levels are the
mean power per STFT bin (Hann 1024, hop 256, normalised as in the denoiser) in dB relative to the
unit-variance noise of the diffusion, i.e. how far each band lies under the noise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from nuwave.audio.degrade import DegradationRange
from nuwave.audio.dsp import level_gain, spectral_tilt
from nuwave.benchmark.tables import markdown_table
from nuwave.models.denoiser import NuWaveDenoiser
from nuwave.training.config import TrainConfig
from nuwave.training.data import AudioCache, SegmentDataset, index_sources, prepare_files, split_files

BAND_EDGES_HZ = [0, 500, 1000, 2000, 4000, 6000, 8000, 10000, 12000, 16000, 20000, 22000, 24000]


def main() -> None:
    model = NuWaveDenoiser().config  # what a new model trains with
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", default=None,
                        help="manifests (default: data/speech_train.jsonl and data/music_train.jsonl)")
    parser.add_argument("--cache", default="runs/nuwave-base/cache", help="the training run's audio cache")
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--tilt", type=float, default=model.tilt_db_per_octave, help="dB per octave")
    parser.add_argument("--corner", type=float, default=model.tilt_corner_hz, help="Hz")
    parser.add_argument("--max-db", type=float, default=model.tilt_max_db)
    args = parser.parse_args()
    config = TrainConfig(data=args.data or ["data/speech_train.jsonl", "data/music_train.jsonl"])
    rate, n_fft = model.sample_rate, model.n_fft
    train_sources, _ = split_files(index_sources(config.data), config.validation_fraction, config.seed)
    files = prepare_files(train_sources, AudioCache(Path(args.cache), rate, config.stereo))
    ranges = DegradationRange(config.min_cutoff_hz, config.max_cutoff_hz, config.codec_probability)
    dataset = SegmentDataset(files, rate, round(config.segment_seconds * rate), args.segments, config.seed, ranges,
                             config.silence_db, config.gain_db, "entries")
    window = torch.hann_window(n_fft)
    plain, tilted = np.zeros(n_fft // 2 + 1), np.zeros(n_fft // 2 + 1)
    for index in range(args.segments):
        item = dataset[index]
        audio = (item["target"] * level_gain(item["cond"][None])[0])[0]
        tilted_audio = spectral_tilt(audio, rate, args.tilt, args.corner, args.max_db)
        for total, signal in ((plain, audio), (tilted, tilted_audio)):
            spectrum = torch.stft(signal, n_fft, model.hop_length, window=window, normalized=True, return_complex=True)
            total += spectrum.abs().square().mean(-1).double().numpy() / args.segments
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    print(f"Mean power per STFT bin, dB relative to the diffusion noise; {args.segments} training segments; tilt "
          f"{args.tilt:g} dB/octave above {args.corner:g} Hz, at most {args.max_db:g} dB.\n")
    rows = []
    for low, high in zip(BAND_EDGES_HZ[:-1], BAND_EDGES_HZ[1:]):
        bins = (freqs >= low) & (freqs < high)
        rows.append([f"{low / 1000:g}-{high / 1000:g}", f"{10 * np.log10(plain[bins].mean()):.1f}",
                     f"{10 * np.log10(tilted[bins].mean()):.1f}"])
    print("\n".join(markdown_table(["band (kHz)", "plain (dB)", "tilted (dB)"], rows)))


if __name__ == "__main__":
    main()
