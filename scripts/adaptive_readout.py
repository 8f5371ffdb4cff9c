"""Whether a readout of the phase lock's two excitations that adapts to the input locks better than the fixed mix:
a table of the band's coherence with the held-out speech, written as markdown to stdout.

The phase lock (`nuwave.inference.pipeline.NuWavePipeline._phase_locked`) mixes the input's cube and its
linear-prediction residual's cube at one angle per cutoff (`RESIDUAL_MIX`), each brought to the envelope band by
band. `scripts/coherence_ceiling.py --readout-files` shows that no finer *fixed* readout does better on held-out
speech: the relation differs from voice to voice. Here the mix is a small convolutional network's output instead:
from the input's own spectrum around each frame (its power in 750 Hz bands relative to the frame's loudest, over
±4 frames) and the cutoff, it gives one complex weight per excitation, band above the cutoff and frame, starting
from the fixed mix (its last layer starts at zero). It is trained on the training split's lossless voices at the
four rates, to maximise what the benchmark's band coherence counts: the correlation of the mix with the reference
in each 750 Hz band and frame, weighed by the reference's power there (each excitation first brought to the
reference's power per band and frame, as `coherence_ceiling.shaped_excitations` does; every cell reduces to a few
sums, so an epoch over hundreds of files takes seconds). The table gives, per rate, the fixed mix and the learned
readout on the held-out speech sets and on the training voices, for three seeds.

    python scripts/adaptive_readout.py > eval/results/adaptive_readout.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from coherence_ceiling import ENVELOPE_BAND_HZ, shaped_excitations, stft, training_voices

from nuwave.audio.degrade import Degradation
from nuwave.audio.dsp import resample
from nuwave.benchmark.evaluate import Suite, load_reference, suite_file
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.pipeline import residual_mix

OUTPUT_RATE = 48000
RATES = (8000, 12000, 16000, 24000)
BANDS = 32  # 750 Hz bands over 0-24 kHz: the features, and at most this many bands above a cutoff
# The features: the input's log10 band power relative to the frame's loudest band, clipped at this many bels under.
FEATURE_FLOOR = 8.0


def band_features(up_spec: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """`(BANDS, frames)`: the input's power in each 750 Hz band relative to the frame's loudest band, log10,
    clipped at `FEATURE_FLOOR` bels under and mapped to [-1, 1]."""
    power = np.stack([np.mean(np.abs(up_spec[(freqs >= k * ENVELOPE_BAND_HZ) & (freqs < (k + 1) * ENVELOPE_BAND_HZ)])
                              ** 2, axis=0) for k in range(BANDS)])
    level = np.log10(power + 1e-12)
    return (np.clip(level - level.max(axis=0, keepdims=True), -FEATURE_FLOOR, 0.0) / (FEATURE_FLOOR / 2) + 1.0
            ).astype(np.float32)


def cell_sums(reference: np.ndarray, rate: int) -> dict:
    """For `reference` at `OUTPUT_RATE` from `rate`: the features and, per band above the cutoff and frame, the sums
    the coherence of any mix is made of: `cross` `(BANDS, frames, 2)` (each shaped excitation against the
    reference), `gram` `(BANDS, frames, 2, 2)` (the excitations against each other), `power` `(BANDS, frames)` (the
    reference's)."""
    low, _ = Degradation("standard", rate).apply(reference, OUTPUT_RATE)
    ref_spec, own, second, _, _ = shaped_excitations(reference, rate, OUTPUT_RATE, low)
    freqs = np.linspace(0, OUTPUT_RATE / 2, ref_spec.shape[0])
    up = stft(resample(low, rate, OUTPUT_RATE, reference.shape[-1]).astype(np.float32))
    frames = ref_spec.shape[1]
    cross = np.zeros((BANDS, frames, 2), complex)
    gram = np.zeros((BANDS, frames, 2, 2), complex)
    power = np.zeros((BANDS, frames))
    edges = np.arange(rate / 2, OUTPUT_RATE / 2 + ENVELOPE_BAND_HZ, ENVELOPE_BAND_HZ)
    for band, (low_edge, high_edge) in enumerate(zip(edges[:-1], edges[1:])):
        rows = (freqs > low_edge) & (freqs <= high_edge)
        both = np.stack([own[rows], second[rows]], axis=-1)  # (bins, frames, 2)
        cross[band] = np.einsum("ftk,ft->tk", both, ref_spec[rows].conj())
        gram[band] = np.einsum("ftk,ftl->tkl", both, both.conj())
        power[band] = np.sum(np.abs(ref_spec[rows]) ** 2, axis=0)
    return {"features": band_features(up, freqs), "cross": torch.from_numpy(cross).to(torch.complex64),
            "gram": torch.from_numpy(gram).to(torch.complex64), "power": torch.from_numpy(power).float(),
            "rate": rate}


class AdaptiveReadout(torch.nn.Module):
    """Features `(BANDS, frames)` and the cutoff -> changes `(BANDS, 4, frames)` to the fixed mix's two weights
    (real and imaginary parts), per band above the cutoff and frame; zero at the start."""

    def __init__(self, channels: int = 96) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv1d(BANDS + 1, channels, 5, padding=2), torch.nn.GELU(),
            torch.nn.Conv1d(channels, channels, 5, padding=2), torch.nn.GELU(),
            torch.nn.Conv1d(channels, BANDS * 4, 1))
        torch.nn.init.zeros_(self.body[-1].weight)
        torch.nn.init.zeros_(self.body[-1].bias)

    def forward(self, features: torch.Tensor, rate: int) -> torch.Tensor:
        cutoff = torch.full_like(features[:1], rate / OUTPUT_RATE * 2)
        return self.body(torch.cat([features, cutoff])[None])[0].reshape(BANDS, 4, -1)


def mix_weights(readout: AdaptiveReadout | None, sums: dict) -> torch.Tensor:
    """`(BANDS, frames, 2)` complex weights of the two excitations: the fixed mix at this cutoff (`residual_mix`),
    plus the readout's changes when given."""
    own, other = residual_mix(sums["rate"] / 2)
    frames = sums["power"].shape[1]
    change = torch.zeros(BANDS, 4, frames) if readout is None else readout(torch.from_numpy(sums["features"]),
                                                                             sums["rate"])
    return torch.stack([torch.complex(float(own) + change[:, 0], change[:, 1]),
                        torch.complex(float(other) + change[:, 2], change[:, 3])], dim=-1)


def coherence(weights: torch.Tensor, sums: dict) -> torch.Tensor:
    """The whole band's correlation with the reference of the excitations mixed by `weights` and brought to the
    reference's power per band and frame: the reference-power-weighted mean of each cell's correlation."""
    cross = (weights * sums["cross"]).sum(-1).real
    mixed = torch.einsum("ctk,ctkl,ctl->ct", weights, sums["gram"], weights.conj()).real.clamp_min(1e-30)
    power = sums["power"]
    rho = cross / (mixed.sqrt() * power.sqrt().clamp_min(1e-30))
    return (power * rho).sum() / power.sum().clamp_min(1e-30)


def train(readout: AdaptiveReadout, data: list[dict], epochs: int, seed: int = 0, learning_rate: float = 3e-4
          ) -> None:
    """Adam on minus the coherence, one file and rate at a time, in a seeded order."""
    optimizer = torch.optim.Adam(readout.parameters(), learning_rate)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        for index in order.permutation(len(data)):
            loss = -coherence(mix_weights(readout, data[index]), data[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def mean_coherence(readout: AdaptiveReadout | None, data: list[dict], rate: int) -> float:
    with torch.no_grad():
        return float(np.mean([float(coherence(mix_weights(readout, s), s)) for s in data if s["rate"] == rate]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--suite", action="append", help="a held-out suite, mono at 48 kHz (repeatable; default: "
                        "speech and speech-pauses)")
    parser.add_argument("--train-voices", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--seeds", default="0,1,2", help="one readout per seed (its start and training order)")
    parser.add_argument("--train-seconds", type=float, default=5.0, help="each training voice's first seconds")
    parser.add_argument("--test-seconds", type=float, default=10.0, help="each held-out file's first seconds")
    args = parser.parse_args()
    names = args.suite or ["speech", "speech-pauses"]
    seeds = [int(seed) for seed in args.seeds.split(",")]
    voices = training_voices(args.data, args.train_voices)
    excerpt = lambda path, seconds: load_reference(path, OUTPUT_RATE, RATES)[: round(seconds * OUTPUT_RATE)]
    sets = {"training voices": [cell_sums(excerpt(path, args.train_seconds), rate) for path in voices
                                for rate in RATES]}
    for name in names:
        suite = Suite.load(suite_file(name), args.data)
        sets[f"held-out {name} ({len(suite.files)} files)"] = [
            cell_sums(excerpt(path, args.test_seconds), rate) for path in suite.files for rate in RATES]
    learned = {}  # (set, rate) -> one coherence per seed
    for seed in seeds:
        torch.manual_seed(seed)
        readout = AdaptiveReadout()
        train(readout, sets["training voices"], args.epochs, seed=seed, learning_rate=args.learning_rate)
        for name, data in sets.items():
            for rate in RATES:
                learned.setdefault((name, rate), []).append(mean_coherence(readout, data, rate))
    rows = []
    for name, data in sets.items():
        for rate in RATES:
            values = learned[name, rate]
            rows.append([name, f"standard-{rate // 1000}k", f"{mean_coherence(None, data, rate):+.3f}",
                         f"{np.mean(values):+.3f}", f"{min(values):+.3f} .. {max(values):+.3f}"])
    parameters = sum(p.numel() for p in AdaptiveReadout().parameters())
    print("Produced by `python scripts/adaptive_readout.py"
          + "".join(f" --suite {name}" for name in args.suite or [])
          + f" --train-voices {args.train_voices} --epochs {args.epochs} --learning-rate {args.learning_rate:g}"
          f" --seeds {args.seeds}`" + ("" if args.suite else " (the defaults)") + "\n")
    print(f"The band's coherence with the reference (whole band, each readout brought to the reference's power per "
          f"{ENVELOPE_BAND_HZ:g} Hz band and frame, the mean over files): the phase lock's fixed mix and a learned "
          f"adaptive readout ({parameters:,} parameters, {args.epochs} epochs over {len(voices)} training voices' "
          f"first {args.train_seconds:g} s at four rates; the mean and range over {len(seeds)} seeds), on the "
          f"training voices and on the held-out sets (each file's first {args.test_seconds:g} s).\n")
    print("\n".join(markdown_table(["files", "condition", "fixed mix", "adaptive readout",
                                     "adaptive readout, range over seeds"], rows)))


if __name__ == "__main__":
    sys.exit(main())
