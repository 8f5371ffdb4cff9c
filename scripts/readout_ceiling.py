"""How far any fixed linear readout of the input's excitations could lock the missing band, with more excitations
than the phase lock's two: a markdown table per condition of the benchmark's held-out sets (standard protocol).

The SNR target needs a band whose correlation with the reference's (rho) is 0.29 or more at the reference's power
(`scripts/coherence_ceiling.py`). The phase lock reads its band from two excitations, the input's cube and its
linear-prediction residual's. This table asks whether more of them would get there: for each set of excitations
below, one complex gain per STFT bin and excitation is fitted by least squares (`coherence_ceiling.fit_readout`'s
ridge) on `--train-files` of the training split's lossless files of the suite's kind (content reaching 19 kHz, the
first 10 s of each), and on the held-out files themselves (in sample: the most such a readout could reach there,
and more than it would, since a fit with more excitations also fits the file's noise); each readout brought to the
reference's power per envelope band and frame, as the pipeline brings the band to the predicted envelope, and
scored by the whole band's correlation with the reference, the mean over files.

The excitations (each of the upsampled, level-normalised input as the model sees it, `x`, or of its
linear-prediction residual `r`, upsampled the same way): `x^3`, `r^3` (each over its local power:
`nuwave.audio.dsp.odd_excitation`), `|x| x` and `|r| r` over their local RMS, `x^5` over the local power squared,
and the cubes of `x` and of `r` band-passed to the input's top octave (other intermodulation products).

    python scripts/readout_ceiling.py --suite speech --suite music --train-files 40 > eval/results/readout_ceiling.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coherence_ceiling as ceiling  # noqa: E402  (a sibling script: its STFT, shaping and readout fit)

from nuwave.audio.degrade import Degradation  # noqa: E402
from nuwave.audio.dsp import input_residual  # noqa: E402
from nuwave.benchmark.evaluate import Suite, condition_name, load_reference, suite_file  # noqa: E402
from nuwave.benchmark.tables import markdown_table  # noqa: E402

# The sets of excitations compared, the phase lock's two first.
EXCITATION_SETS = (
    ("x^3", "r^3"),
    ("x^3", "r^3", "|x| x", "x^5"),
    ("x^3", "r^3", "top x^3", "top r^3"),
    ("x^3", "r^3", "|x| x", "x^5", "top x^3", "top r^3", "|r| r"),
)
SECONDS = ceiling.READOUT_SECONDS


def top_octave(audio: torch.Tensor, rate: int, output_rate: int) -> torch.Tensor:
    """`(1, T)` at `output_rate` band-passed to the top octave under `rate`'s Nyquist frequency (in the Fourier
    domain: this is a study of what the band could hold, not a filter the pipeline runs)."""
    spectrum = torch.fft.rfft(audio)
    freqs = torch.fft.rfftfreq(audio.shape[-1], 1.0 / output_rate)
    return torch.fft.irfft(spectrum * ((freqs > rate / 4) & (freqs < rate / 2)), n=audio.shape[-1])


def excitations(low: np.ndarray, rate: int, output_rate: int, length: int) -> dict[str, np.ndarray]:
    """Every excitation of the module's list for the input `low` at `rate`: STFTs at `output_rate`."""
    x = ceiling.as_the_model_sees_it(low, rate, output_rate, length)
    r = ceiling.as_the_model_sees_it(input_residual(low, rate), rate, output_rate, length)
    cube, signed_square = ceiling.EXCITATIONS["x^3 / power"], ceiling.EXCITATIONS["|x| x / rms"]
    made = {"x^3": cube(x), "r^3": cube(r), "|x| x": signed_square(x), "|r| r": signed_square(r),
            "x^5": ceiling.EXCITATIONS["x^5 / power^2"](x), "top x^3": cube(top_octave(x, rate, output_rate)),
            "top r^3": cube(top_octave(r, rate, output_rate))}
    return {name: ceiling.stft(audio[0].numpy()) for name, audio in made.items()}


def file_terms(reference: np.ndarray, rate: int, output_rate: int) -> tuple:
    """(reference STFT, each excitation brought to the reference's power per band and frame, band mask, that
    bringing) for a reference's first `SECONDS`."""
    reference = reference[: round(SECONDS * output_rate)]
    low, _ = Degradation("standard", rate).apply(reference, output_rate)
    ref_spec, _, _, band, to_reference = ceiling.shaped_excitations(reference, rate, output_rate, low)
    made = excitations(low, rate, output_rate, reference.shape[-1])
    shaped = {name: to_reference(spec) for name, spec in made.items()}
    return ref_spec, shaped, band, to_reference


def fit(terms: list[tuple], names: tuple[str, ...]) -> np.ndarray:
    """Per-bin complex gains `(bins, K)` of the excitations `names`, least squares over `terms`."""
    return ceiling.per_bin_gains((np.stack([shaped[name] for name in names], axis=-1), ref_spec)
                                 for ref_spec, shaped, _, _ in terms)


def score(terms: list[tuple], names: tuple[str, ...], gains: np.ndarray) -> float:
    """The mean over files of the whole band's correlation of the read-out band with the reference."""
    values = []
    for ref_spec, shaped, band, to_reference in terms:
        estimate = sum(gains[:, None, k] * shaped[name] for k, name in enumerate(names))
        values.append(ceiling.correlation(to_reference(estimate)[band], ref_spec[band]))
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", required=True, help="suite name or JSON (repeatable)")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--train-files", type=int, default=40, help="training files each readout is fitted on")
    args = parser.parse_args()
    rows = []
    for name in args.suite:
        suite = Suite.load(suite_file(name), args.data)
        training = [load_reference(path, suite.output_rate)
                    for path in ceiling.training_files(args.data, suite.name, args.train_files, 0.8)]
        for rate in suite.input_rates:
            references = [load_reference(path, suite.output_rate, (rate,)) for path in suite.files]
            held_out = [file_terms(reference, rate, suite.output_rate) for reference in references]
            fitted_on = [file_terms(reference, rate, suite.output_rate) for reference in training]
            single = {n: np.mean([ceiling.correlation(s[n][b], r[b]) for r, s, b, _ in held_out])
                      for n in held_out[0][1]}
            strongest = max(single, key=lambda n: abs(single[n]))
            for names in EXCITATION_SETS:
                rows.append([suite.name, condition_name(Degradation("standard", rate)), len(held_out), len(names),
                             " + ".join(names), f"{score(held_out, names, fit(fitted_on, names)):+.3f}",
                             f"{score(held_out, names, fit(held_out, names)):+.3f}",
                             f"{strongest} {single[strongest]:+.3f}"])
    print("Produced by `python scripts/readout_ceiling.py "
          + " ".join(f"--suite {shlex.quote(s)}" for s in args.suite) + f" --train-files {args.train_files}`\n")
    print(f"Whole band's correlation with the held-out references (each file's first {SECONDS:g} s) of one complex "
          f"gain per STFT bin and excitation, fitted on {args.train_files} of the training split's lossless files of "
          "the suite's kind or on the held-out files themselves (in sample), each brought to the reference's power per "
          "band and frame; beside it the single excitation that correlates most (its sign pooled over files). A "
          "band at the reference's power needs rho >= 0.29 for an SNR within 1.5 dB of sinc's.\n")
    print("\n".join(markdown_table(["suite", "condition", "files", "excitations", "which",
                                     f"fitted on {args.train_files} training files", "fitted in sample",
                                     "strongest single excitation"], rows)))


if __name__ == "__main__":
    sys.exit(main())
