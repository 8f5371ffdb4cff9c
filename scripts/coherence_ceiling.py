"""How much of the missing band's waveform the input fixes, and how much the SNR target needs: a table per
condition of the benchmark's held-out sets (standard protocol), written as markdown to stdout.

The benchmark's SNR counts the band's phase: a band at the reference's power whose correlation with the
reference's band is rho leaves a waveform error of (1 + g - 2 rho sqrt(g)) times the one the missing band leaves
(g: the band's power over the reference's), where sinc leaves 1 (when the missing band makes sinc's error). SNR
within 1.5 dB of sinc's needs that factor at most 10^0.15 = 1.41: rho >= 0.29 at g = 1 (0 dB), 0.14 at -2 dB,
nothing under -3.9 dB. The table sets beside it:

- `default rho`, `octave 1 (dB)`: the shipped model's coherence and first-octave level at the default settings
  (the phase lock on for these rate inputs), read from the committed report (`eval/results/<suite>/results.json`,
  8 steps);
- `cube rho`: the correlation of the input's odd excitation (the sinc-upsampled input cubed over its local power,
  `odd_excitation`) with the reference's band, with one sign for all files and columns (the pooled sign of the
  first half-octave), over the first half-octave above the cutoff and over the whole band; and the share of files
  whose own sign agrees;
- `after a causal low-pass`: the same first-half-octave correlation when the input is made by the same Chebyshev
  low-pass run once, causally (minimum phase, as half of the training degradations are), then resampled: the
  filter turns the input's phase near its cutoff, and the relation goes with it;
- `oracle`: the share of the reference's power in the first half-octave that a linear filter of that excitation,
  fitted to each file on its own (one complex gain per STFT bin; chance level, 1 / frames, taken off), explains:
  an upper bound for what a fixed readout of that feature could reach, not a reachable figure.

A second table sets other nonlinearities beside the cube (`EXCITATIONS`: odd ones keep the input's polarity, even
ones lose it), each over the first half-octave with its own pooled sign; the cube of the input's linear-prediction
residual (`nuwave.audio.dsp.linear_prediction_residual` at the input's rate, the pipeline's order and window) and
the two cubes together (each at unit power over the band, with the pipeline's signs `EXCITATION_SIGN` and
`RESIDUAL_EXCITATION_SIGN`; the phase lock mixes them band by band, at an angle the cutoff sets: third table), over
the first half-octave and the whole band; and the cube with a sign read per file from the input itself (`own sign`:
the excitation of the input's lower two thirds against the input's top third, the relation the missing band would
continue).
`--train-voices N` adds that table for N of the training split's lossless voices (content reaching 19 kHz, at
least 0.8 s), where the residual's sign was chosen, and a third table, where the phase lock's mix was
(`nuwave.inference.pipeline.RESIDUAL_MIX`): the whole band's correlation of cos(a) x the input's cube plus sin(a) x
the residual's, each first brought band by band (the shipped model's envelope bands, frame by frame) to the
reference's power, as the pipeline brings them to the predicted envelope, for angles a from 0 to 90 degrees.
`--readout-files N` adds a last table: whether a finer fixed readout than that one angle would lock better, one
complex gain per STFT bin for each excitation, fitted by least squares on N of the training split's lossless files
of each suite's kind and scored on the held-out files, beside the same gains fitted on the held-out files
themselves (the most any fixed readout of the two could reach there).

    python scripts/coherence_ceiling.py --suite speech --suite music --train-voices 40 --readout-files 40 \
        > eval/results/coherence_ceiling.md
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from nuwave import checkpoints
from nuwave.audio.degrade import Degradation, lowpass, resample_poly
from nuwave.audio.dsp import EXCITATION_FLOOR, input_residual, level_gain, local_power, odd_excitation, resample
from nuwave.benchmark.evaluate import Suite, condition_name, load_reference, suite_file
from nuwave.benchmark.metrics import LSD_HOP, LSD_N_FFT
from nuwave.benchmark.tables import SNR_GAP_MIN, coherence_needed, markdown_table
from nuwave.corpus.recipe import manifest_entries
from nuwave.inference.pipeline import EXCITATION_SIGN, RESIDUAL_EXCITATION_SIGN, residual_mix

SNR_MARGIN_DB = -SNR_GAP_MIN
SHIPPED = json.loads((Path(checkpoints.resolve(checkpoints.DEFAULT_MODEL)) / "denoiser" / "config.json").read_text())
# The moving mean of the excitation's local power, in samples: what the pipeline uses with the shipped model (half
# its STFT frame, `NuWavePipeline._phase_locked`).
EXCITATION_WINDOW = SHIPPED["n_fft"] // 2
# The width of the shipped model's envelope bands, to which the phase lock brings each excitation.
ENVELOPE_BAND_HZ = SHIPPED["sample_rate"] / 2 / SHIPPED["envelope_bands"]


def _local_power(audio: torch.Tensor) -> torch.Tensor:
    """The local power `odd_excitation` divides by (`local_power` over `EXCITATION_WINDOW`, with its floor)."""
    return local_power(audio, EXCITATION_WINDOW) + EXCITATION_FLOOR


# Nonlinearities that put energy above a band-limited signal's top, each scaled like the input; `(B, T)` -> same.
EXCITATIONS = {
    "x^3 / power": lambda x: odd_excitation(x, EXCITATION_WINDOW),
    "|x| x / rms": lambda x: x * x.abs() / _local_power(x).sqrt(),
    "x^5 / power^2": lambda x: x**5 / _local_power(x).square(),
    "soft clip at 2 rms": lambda x: 2 * _local_power(x).sqrt() * torch.tanh(x / (2 * _local_power(x).sqrt())),
    "half-wave rectified": lambda x: x.clamp_min(0.0),
    "full-wave rectified": lambda x: x.abs(),
}


def stft(audio: np.ndarray) -> np.ndarray:
    window = torch.hann_window(LSD_N_FFT)
    return torch.stft(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), LSD_N_FFT, LSD_HOP,
                      window=window, center=True, pad_mode="reflect", return_complex=True).numpy()


def as_the_model_sees_it(low: np.ndarray, rate: int, output_rate: int, length: int) -> torch.Tensor:
    """A low-rate signal `(T,)` upsampled and level-normalised as the model sees its input: `(1, length)`."""
    up = torch.from_numpy(resample(low, rate, output_rate, length))
    return (up * level_gain(up[None, None])[0, 0])[None].float()


def excitation_of(low: np.ndarray, rate: int, output_rate: int, length: int) -> np.ndarray:
    """The odd excitation of a low-rate input, upsampled and level-normalised as the model sees it."""
    return odd_excitation(as_the_model_sees_it(low, rate, output_rate, length), EXCITATION_WINDOW)[0].numpy()


def file_terms(reference: np.ndarray, rate: int, output_rate: int) -> dict:
    """Per file: cross and power sums of the excitation and the reference in the first half-octave and the whole
    band above the cutoff (also for an input made by a causal low-pass), and the oracle's explained share of the
    first half-octave."""
    length = reference.shape[-1]
    low, _ = Degradation("standard", rate).apply(reference, output_rate)
    causal = resample_poly(lowpass(reference, output_rate, rate / 2, "cheby1", 8, 0.05, zero_phase=False),
                           output_rate, rate)
    ref_spec = stft(reference)
    exc_spec = stft(excitation_of(low, rate, output_rate, length))
    causal_spec = stft(excitation_of(causal, rate, output_rate, length))
    freqs = np.linspace(0, output_rate / 2, ref_spec.shape[0])
    cutoff = rate / 2
    half = (freqs > cutoff) & (freqs <= 1.5 * cutoff)

    def sums(excitation: np.ndarray, selected: np.ndarray) -> tuple[float, float, float]:
        """(cross, excitation power, reference power) over the `selected` bins."""
        r, e = ref_spec[selected], excitation[selected]
        return float(np.real(np.sum(e * r.conj()))), float(np.sum(np.abs(e) ** 2)), float(np.sum(np.abs(r) ** 2))

    out = {"half": sums(exc_spec, half), "band": sums(exc_spec, freqs > cutoff), "causal": sums(causal_spec, half)}
    r, e = ref_spec[half], exc_spec[half]
    fitted = np.abs(np.sum(e * r.conj(), axis=1)) ** 2 / np.maximum(np.sum(np.abs(e) ** 2, axis=1), 1e-30)
    out["oracle"] = float(np.sum(fitted) / max(np.sum(np.abs(r) ** 2), 1e-30)) - 1.0 / ref_spec.shape[1]
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The correlation of two sets of complex STFT bins (0 when either is silent)."""
    power = float(np.sum(np.abs(a) ** 2) * np.sum(np.abs(b) ** 2))
    return float(np.real(np.sum(a * b.conj()))) / np.sqrt(power) if power > 0 else 0.0


def excitation_terms(reference: np.ndarray, rate: int, output_rate: int) -> dict:
    """Per file: the correlation of each of `EXCITATIONS` of the upsampled, level-normalised input with the
    reference over the first half-octave above the cutoff, and the sign the input gives the cube itself: that of
    the correlation of the cube of its lower two thirds with its top third (up to 97% of the cutoff, under the
    resampler's transition)."""
    length = reference.shape[-1]
    low, _ = Degradation("standard", rate).apply(reference, output_rate)
    up = as_the_model_sees_it(low, rate, output_rate, length)
    ref_spec = stft(reference)
    freqs = np.linspace(0, output_rate / 2, ref_spec.shape[0])
    cutoff = rate / 2
    half = (freqs > cutoff) & (freqs <= 1.5 * cutoff)
    specs = {name: stft(make(up)[0].numpy()) for name, make in EXCITATIONS.items()}
    out = {name: correlation(spec[half], ref_spec[half]) for name, spec in specs.items()}
    band = freqs > cutoff
    cube = specs["x^3 / power"]
    second = stft(excitation_of(input_residual(low, rate), rate, output_rate, length))
    unit = lambda spec: spec / max(float(np.sqrt(np.sum(np.abs(spec[band]) ** 2))), 1e-30)
    both = EXCITATION_SIGN * unit(cube) + RESIDUAL_EXCITATION_SIGN * unit(second)
    for name, spec in (("residual x^3", second), ("both", both)):
        out[name] = correlation(spec[half], ref_spec[half])
        out[name + ", band"] = correlation(spec[band], ref_spec[band])
    lower_rate = 2 * round(cutoff * 2 / 3)
    lower = torch.from_numpy(resample(resample(up[0].numpy(), output_rate, lower_rate), lower_rate, output_rate,
                                      length))[None]
    top = (freqs > lower_rate / 2) & (freqs <= 0.97 * cutoff)
    own = correlation(stft(odd_excitation(lower, EXCITATION_WINDOW)[0].numpy())[top], stft(up[0].numpy())[top])
    out["own sign"] = float(np.sign(own))
    return out


def excitation_cells(references: list[np.ndarray], rate: int, output_rate: int) -> list[str]:
    """The second table's cells for `references` from `rate`: each of `EXCITATIONS` with its pooled sign (and the
    share of files of that sign), the residual's cube and both cubes with the pipeline's signs (first half-octave /
    whole band, and the share of files correlating positively over the half-octave), the cube with its own sign."""
    terms = [excitation_terms(reference, rate, output_rate) for reference in references]
    cells = []
    for kind in EXCITATIONS:
        values = np.array([t[kind] for t in terms])
        pooled = np.sign(values.sum()) or 1.0
        cells.append(f"{pooled * values.mean():+.3f} ({np.mean(np.sign(values) == pooled):.0%})")
    for kind in ("residual x^3", "both"):
        values = np.array([t[kind] for t in terms])
        cells.append(f"{values.mean():+.3f} / {np.mean([t[kind + ', band'] for t in terms]):+.3f} "
                     f"({np.mean(values > 0):.0%})")
    cube = np.array([t["x^3 / power"] for t in terms])
    cells.append(f"{np.mean(cube * np.array([t['own sign'] for t in terms])):+.3f}")
    return cells


def training_files(data: Path, kind: str, count: int, min_seconds: float, channels: int | None = None,
                   min_content_hz: float = 19000.0) -> list[Path]:
    """`count` of the training split's lossless files of `kind` ("speech", "music") whose content reaches
    `min_content_hz` and that last `min_seconds` or more (and have `channels` channels, when given), evenly spaced
    in the manifest's order."""
    entries = manifest_entries(data)
    chosen = [e for e in entries if e["kind"] == kind and e["split"] == "train" and e["lossless"]
              and e.get("content_hz", e["bandwidth_hz"]) >= min_content_hz and e["seconds"] >= min_seconds
              and channels in (None, e["channels"])]
    step = max(1, len(chosen) // count)
    return [data / e["path"] for e in chosen[::step][:count]]


def training_voices(data: Path, count: int) -> list[Path]:
    """`count` of the training split's lossless voices whose content reaches 19 kHz and that last 0.8 s or more."""
    return training_files(data, "speech", count, 0.8)


MIX_ANGLES = (0, 15, 30, 45, 60, 75, 90)


def shaped_excitations(reference: np.ndarray, rate: int, output_rate: int, low: np.ndarray | None = None) -> tuple:
    """The reference's STFT, the input's two excitations with the pipeline's signs (its cube, its residual's cube),
    each brought to the reference's power per `ENVELOPE_BAND_HZ` band and frame as the pipeline brings them to the
    predicted envelope, the mask of the bins above the cutoff, and that bringing (a spectrum -> the same). `low`:
    the input at `rate` (the standard protocol's degradation of `reference`), when the caller has made it."""
    length = reference.shape[-1]
    if low is None:
        low, _ = Degradation("standard", rate).apply(reference, output_rate)
    cube = lambda audio: stft(excitation_of(audio, rate, output_rate, length))
    ref_spec = stft(reference)
    freqs = np.linspace(0, output_rate / 2, ref_spec.shape[0])
    edges = np.arange(rate / 2, output_rate / 2 + ENVELOPE_BAND_HZ, ENVELOPE_BAND_HZ)

    def to_reference(spec: np.ndarray) -> np.ndarray:
        out = np.zeros_like(spec)
        for low_edge, high_edge in zip(edges[:-1], edges[1:]):
            rows = (freqs > low_edge) & (freqs <= high_edge)
            power = np.sqrt(np.sum(np.abs(spec[rows]) ** 2, axis=0, keepdims=True)).clip(1e-30)
            out[rows] = spec[rows] / power * np.sqrt(np.sum(np.abs(ref_spec[rows]) ** 2, axis=0, keepdims=True))
        return out

    own = EXCITATION_SIGN * to_reference(cube(low))
    second = RESIDUAL_EXCITATION_SIGN * to_reference(cube(input_residual(low, rate)))
    return ref_spec, own, second, freqs > rate / 2, to_reference


def mix_correlations(reference: np.ndarray, rate: int, output_rate: int) -> list[float]:
    """The whole band's correlation with the reference of the two excitations mixed at each of `MIX_ANGLES`, each
    excitation first brought to the reference's power per `ENVELOPE_BAND_HZ` band and frame."""
    ref_spec, own, second, band, _ = shaped_excitations(reference, rate, output_rate)
    return [correlation((math.cos(math.radians(a)) * own + math.sin(math.radians(a)) * second)[band],
                        ref_spec[band]) for a in MIX_ANGLES]


# The excerpt of each file a readout is fitted on and scored over, in seconds (a song of the training split runs
# for minutes).
READOUT_SECONDS = 10.0
# Ridge of the per-bin least squares, as a share of the mean excitation power in that bin.
READOUT_RIDGE = 1e-3


def readout_terms(references: list[np.ndarray], rate: int, output_rate: int) -> list[tuple]:
    """`shaped_excitations` of each reference's first `READOUT_SECONDS`."""
    return [shaped_excitations(r[: round(READOUT_SECONDS * output_rate)], rate, output_rate) for r in references]


def per_bin_gains(pairs) -> np.ndarray:
    """One complex gain per STFT bin for each of K excitations, `(bins, K)`: least squares (ridge `READOUT_RIDGE`
    of the mean excitation power per bin) on the reference's bins over every frame of `pairs`, an iterable of
    (excitations `(bins, frames, K)`, reference STFT `(bins, frames)`)."""
    gram, cross = 0.0, 0.0
    for stacked, ref_spec in pairs:
        gram = gram + np.einsum("ftk,ftl->fkl", stacked.conj(), stacked)
        cross = cross + np.einsum("ftk,ft->fk", stacked.conj(), ref_spec)
    eye = np.eye(gram.shape[-1])
    ridge = READOUT_RIDGE * np.trace(gram, axis1=1, axis2=2).real[:, None, None] / gram.shape[-1] * eye
    return np.linalg.solve(gram + ridge + 1e-30 * eye, cross[..., None])[..., 0]


def fit_readout(terms: list[tuple]) -> np.ndarray:
    """One complex gain per STFT bin for each of the two excitations, `(bins, 2)` (`per_bin_gains` over every frame
    of `terms`, `readout_terms`): the best fixed linear readout of the two for these files."""
    return per_bin_gains((np.stack([own, second], axis=-1), ref_spec) for ref_spec, own, second, _, _ in terms)


def readout_correlation(terms: list[tuple], weights: np.ndarray | None, rate: int) -> float:
    """The mean over files of the whole band's correlation with the reference of the two excitations read out by
    `weights` (`fit_readout`) or, for None, mixed as the pipeline mixes them at this cutoff (`residual_mix`), the
    result brought to the reference's power per band and frame again."""
    values = []
    for ref_spec, own, second, band, to_reference in terms:
        if weights is None:
            first, other = residual_mix(rate / 2)
            estimate = float(first) * own + float(other) * second
        else:
            estimate = weights[:, None, 0] * own + weights[:, None, 1] * second
        values.append(correlation(to_reference(estimate)[band], ref_spec[band]))
    return float(np.mean(values))


def readout_cells(references: list[np.ndarray], training: list[np.ndarray], rate: int, output_rate: int
                  ) -> list[str]:
    """The readout table's cells for held-out `references` and `training` files from `rate`: the pipeline's mix,
    per-bin gains fitted on the training files, per-bin gains fitted on the references themselves."""
    held_out = readout_terms(references, rate, output_rate)
    fitted = fit_readout(readout_terms(training, rate, output_rate))
    return [f"{readout_correlation(held_out, weights, rate):+.3f}"
            for weights in (None, fitted, fit_readout(held_out))]


def model_figures(suite: str, condition: str) -> tuple[float, float]:
    """(coherence, octave 1 dB) of the shipped model at 8 steps, from the committed report; NaN when absent."""
    path = Path("eval/results") / suite / "results.json"
    if path.is_file():
        for row in json.loads(path.read_text())["summary"]:
            if row["condition"] == condition and row["system"] == "nuwave" and row.get("steps") == 8:
                return row["band_coherence"], row["band_db_1"]
    return float("nan"), float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", required=True, help="suite name or JSON (repeatable)")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--train-voices", type=int, default=0,
                        help="also tabulate the excitations on this many of the training split's lossless voices")
    parser.add_argument("--readout-files", type=int, default=0,
                        help="also fit per-bin readouts of the two excitations on this many training files per suite")
    args = parser.parse_args()
    rows, others, readouts, training = [], [], [], {}
    for name in args.suite:
        suite = Suite.load(suite_file(name), args.data)
        if args.readout_files:
            training[suite.name] = [load_reference(path, suite.output_rate)
                                    for path in training_files(args.data, suite.name, args.readout_files, 0.8)]
        for rate in suite.input_rates:
            condition = condition_name(Degradation("standard", rate))
            references = [load_reference(path, suite.output_rate, (rate,)) for path in suite.files]
            terms = [file_terms(reference, rate, suite.output_rate) for reference in references]
            cells = []
            sign = np.sign(sum(t["half"][0] for t in terms)) or 1.0  # the pooled sign, kept for every column
            for part in ("half", "band", "causal"):
                cross = np.array([t[part][0] for t in terms])
                rho = cross / np.sqrt([t[part][1] * t[part][2] for t in terms]).clip(1e-30)
                cells.append(f"{sign * np.mean(rho):+.3f}")
            agree = np.mean(np.sign([t["half"][0] for t in terms]) == sign)
            oracle = np.mean([t["oracle"] for t in terms])
            coherence, octave = model_figures(suite.name, condition)
            rows.append([suite.name, condition, len(terms), f"{coherence:+.3f}", f"{octave:+.1f}",
                         f"{coherence_needed(octave):.2f}", cells[0], f"{agree:.0%}", cells[1], cells[2],
                         f"{oracle:.3f} (rho {math.sqrt(max(oracle, 0.0)):.2f})"])
            others.append([suite.name, condition, *excitation_cells(references, rate, suite.output_rate)])
            if args.readout_files:
                readouts.append([suite.name, condition, len(references),
                                 *readout_cells(references, training[suite.name], rate, suite.output_rate)])
    mixes = []
    if args.train_voices:
        voices = training_voices(args.data, args.train_voices)
        for rate in (8000, 12000, 16000, 24000):
            condition = condition_name(Degradation("standard", rate))
            references = [load_reference(path, 48000, (rate,)) for path in voices]
            others.append([f"train ({len(voices)} voices)", condition, *excitation_cells(references, rate, 48000)])
            values = np.mean([mix_correlations(reference, rate, 48000) for reference in references], axis=0)
            mixes.append([f"train ({len(voices)} voices)", condition, *(f"{v:+.3f}" for v in values)])
    print("Produced by `python scripts/coherence_ceiling.py "
          + " ".join(f"--suite {shlex.quote(s)}" for s in args.suite)
          + (f" --train-voices {args.train_voices}" if args.train_voices else "")
          + (f" --readout-files {args.readout_files}" if args.readout_files else "") + "`\n")
    print(f"rho needed for SNR within {SNR_MARGIN_DB} dB of sinc's: {coherence_needed(0.0):.2f} at 0 dB, "
          f"{coherence_needed(-2.0):.2f} at -2 dB, {coherence_needed(-4.0):.2f} at -4 dB.\n")
    header = ["suite", "condition", "files", "default rho", "octave 1 (dB)", "rho needed at that level",
              "cube rho, first half-octave", "files of that sign", "cube rho, whole band",
              "cube rho, first half-octave, after a causal low-pass",
              "oracle share, first half-octave"]
    print("\n".join(markdown_table(header, rows)))
    print("\nOther excitations, first half-octave above the cutoff: rho with the pooled sign (files of that sign); "
          "and the cube with the sign the input's own top gives it.\n")
    print("\n".join(markdown_table(["suite", "condition", *EXCITATIONS, "residual x^3 (half-octave / band)",
                                     "both at equal power (half-octave / band)", "x^3 / power, own sign"],
                                    others)))
    if mixes:
        print("\nThe two excitations mixed at an angle (degrees; 0: the input's cube alone, 90: the residual's), each "
              f"brought to the reference's power per {ENVELOPE_BAND_HZ:g} Hz band and frame; correlation over the "
              "whole band.\n")
        print("\n".join(markdown_table(["voices", "condition", *(f"{a}" for a in MIX_ANGLES)], mixes)))
    if readouts:
        print("\nWhether a finer fixed readout of the two excitations would lock better: the whole band's correlation "
              "with the held-out references (each file's first "
              f"{READOUT_SECONDS:g} s) of the pipeline's mix at that cutoff (`RESIDUAL_MIX`), of one complex gain per "
              "STFT bin for each excitation fitted by least squares on "
              f"{args.readout_files} of the training split's lossless files of the suite's kind (content reaching "
              "19 kHz), and of the same gains fitted on the held-out files themselves (in sample: the most any fixed "
              "readout of the two could reach there); each readout brought to the reference's power per band and "
              "frame.\n")
        print("\n".join(markdown_table(["suite", "condition", "files", "the pipeline's mix",
                                         f"per-bin gains fitted on {args.readout_files} training files",
                                         "per-bin gains fitted in sample"], readouts)))


if __name__ == "__main__":
    sys.exit(main())
