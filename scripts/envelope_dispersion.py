"""How far the generated band's envelope follows the input from frame to frame: for each active frame, the power of
the first octave above the cutoff against the octave under it (its *brightness step*, dB), the output's against the
reference's, on held-out and training files of each kind. Markdown to stdout.

A least-squares estimate of a quantity (here the envelope predictor's log band powers, `nuwave.models.envelope`)
regressed on that quantity has the slope `rho^2`, where `rho` is their correlation: it follows the truth by that
share and pulls the rest to the mean. A slope near `rho^2` on the training split says the envelope is calibrated and
its remaining frame-to-frame error is what its estimate of the band cannot tell from the input: frames darker than
usual come out too bright and brighter ones too dark, by `(1 - slope)` of their distance from the mean. The cure is
then an estimate that correlates better with the truth, not a correction of its level. A second table asks whether
two things the input holds would tell more, beside the output's step: the level of the input's odd excitation above
the cutoff (the phase lock's, `coherence_ceiling.excitation_of`) over the input's octave under it, and the input's own
step an octave lower (the octave under the cutoff over the one under that): the share of the reference's steps a
least-squares fit explains (R^2) with the output's step alone and with each added.

The outputs are the pipeline's at its defaults (8 steps, seed 0), of the benchmark's standard degradation of each
reference (`Degradation("standard", rate)`); active frames lie within `ACTIVE_DB` of a file's loudest frame (the
benchmark's). Training files: lossless, content reaching 19 kHz (`coherence_ceiling.training_files`).

    python scripts/envelope_dispersion.py > eval/results/envelope_dispersion.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from coherence_ceiling import excitation_of, training_files

from nuwave.audio.degrade import Degradation
from nuwave.benchmark.evaluate import Suite, analysis_pipeline, load_reference, suite_file
from nuwave.benchmark.metrics import log_power_spectrogram
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.options import DEFAULT_MODEL
from nuwave.inference.upsample import UpsampleSettings, upsample_array

# kind -> (suite, input rates, training files' shortest length in s)
KINDS = {"speech": ("speech", (8000, 16000), 0.8), "music": ("music", (16000, 22050), 2.0)}
ACTIVE_DB = 40.0
# Rows of the error by the reference's brightness step (dB): (low, high].
STEP_CLASSES = ((-np.inf, -25.0), (-25.0, -15.0), (-15.0, -5.0), (-5.0, np.inf))


def class_name(low: float, high: float) -> str:
    """A `STEP_CLASSES` row's name: "under -25", "-25 to -15", "from -5"."""
    if low == -np.inf:
        return f"under {high:g}"
    return f"from {low:g}" if high == np.inf else f"{low:g} to {high:g}"


def power_spectrogram(audio: np.ndarray) -> np.ndarray:
    """`(bins, frames)` power of `(T,)` `audio` (the LSD front end)."""
    return 10.0 ** log_power_spectrogram(torch.from_numpy(np.atleast_2d(audio)).float())[0].numpy()


def octave_power_db(power: np.ndarray, cutoff: float, rate: int) -> np.ndarray:
    """Per frame of a `power_spectrogram` at `rate`, the mean power of the octave above `cutoff`, dB (it ends at the
    Nyquist frequency)."""
    freqs = np.linspace(0.0, rate / 2, power.shape[0])
    return 10.0 * np.log10(power[(freqs > cutoff) & (freqs <= 2 * cutoff)].mean(axis=0))


def power_steps(power: np.ndarray, cutoff: float, rate: int) -> np.ndarray:
    """Per frame of a `power_spectrogram`, the power of the octave above `cutoff` over the octave under it, dB."""
    return octave_power_db(power, cutoff, rate) - octave_power_db(power, cutoff / 2, rate)


def brightness_steps(audio: np.ndarray, cutoff: float, rate: int) -> np.ndarray:
    """`power_steps` of `(T,)` `audio`."""
    return power_steps(power_spectrogram(audio), cutoff, rate)


def active_frames(audio: np.ndarray, power: np.ndarray | None = None) -> np.ndarray:
    """Whether each frame of `(T,)` `audio` (or of its `power_spectrogram`, when given) lies within `ACTIVE_DB` of
    its loudest."""
    level = 10.0 * np.log10((power_spectrogram(audio) if power is None else power).sum(axis=0))
    return level > level.max() - ACTIVE_DB


def dispersion(truth: np.ndarray, estimate: np.ndarray) -> dict:
    """How `estimate` follows `truth` (1-D, the same frames): their correlation, the slope of `estimate` regressed on
    `truth`, each one's standard deviation, the mean error and the mean error by `STEP_CLASSES` of `truth`
    (NaN where a class has no frames) with each class's share of the frames."""
    error = estimate - truth
    classes = [(truth > low) & (truth <= high) for low, high in STEP_CLASSES]
    return {"rho": float(np.corrcoef(truth, estimate)[0, 1]), "slope": float(np.polyfit(truth, estimate, 1)[0]),
            "std_truth": float(truth.std()), "std_estimate": float(estimate.std()), "error": float(error.mean()),
            "by_class": [float(error[m].mean()) if m.any() else float("nan") for m in classes],
            "shares": [float(m.mean()) for m in classes]}


def frame_steps(pipe, files: list[Path], rate: int, output_rate: int) -> list[dict[str, np.ndarray]]:
    """Per file, over its active frames: the brightness steps of the reference (`truth`) and of the output
    (`output`), the level of the input's odd excitation above the cutoff over the input's octave under it
    (`excitation`) and the input's own step an octave lower (`below`), dB."""
    steps = []
    for path in files:
        reference = load_reference(path, output_rate, (rate,))
        low, low_rate = Degradation("standard", rate).apply(reference, output_rate)
        settings = UpsampleSettings(target_rate=output_rate, cutoff=low_rate / 2)
        output = np.asarray(upsample_array(pipe, np.atleast_2d(low), low_rate, settings)[0], np.float32).reshape(-1)
        length = min(output.size, reference.size)
        reference, output = reference[:length], output[:length]
        cutoff = low_rate / 2
        power = power_spectrogram(reference)
        excitation = power_spectrogram(excitation_of(low, low_rate, output_rate, length))
        active = active_frames(reference, power)
        steps.append({"truth": power_steps(power, cutoff, output_rate)[active],
                      "output": brightness_steps(output, cutoff, output_rate)[active],
                      "excitation": (octave_power_db(excitation, cutoff, output_rate)
                                     - octave_power_db(power, cutoff / 2, output_rate))[active],
                      # the known band: the input's own step
                      "below": power_steps(power, cutoff / 2, output_rate)[active]})
    return steps


def explained(truth: np.ndarray, *predictors: np.ndarray) -> float:
    """The share of `truth`'s variance a least-squares fit on `predictors` (and a constant) explains, R^2."""
    design = np.column_stack([np.ones_like(truth), *predictors])
    coefficients, *_ = np.linalg.lstsq(design, truth, rcond=None)
    return float(1.0 - np.var(truth - design @ coefficients) / np.var(truth))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--train-files", type=int, default=30, help="training files of each kind")
    args = parser.parse_args()
    pipe = analysis_pipeline(args.model)
    rows, file_rows, more_rows = [], [], []
    for kind, (suite_name, rates, min_seconds) in KINDS.items():
        suite = Suite.load(suite_file(suite_name), args.data)
        sets = {"held-out (benchmark)": list(suite.files),
                "training": training_files(args.data, kind, args.train_files, min_seconds)}
        for rate in rates:
            for name, files in sets.items():
                steps = frame_steps(pipe, files, rate, suite.output_rate)
                pooled = {key: np.concatenate([each[key] for each in steps]) for key in steps[0]}
                figures = dispersion(pooled["truth"], pooled["output"])
                head = [kind, f"{rate / 1000:g} kHz", name]
                rows.append([*head, f"{len(files)}", f"{figures['rho']:.2f}", f"{figures['rho'] ** 2:.2f}",
                             f"{figures['slope']:.2f}", f"{figures['std_truth']:.1f} / {figures['std_estimate']:.1f}",
                             f"{figures['error']:+.1f}",
                             *(f"{error:+.1f} ({share:.0%})" for error, share in
                               zip(figures["by_class"], figures["shares"]))])
                truth, output = pooled["truth"], pooled["output"]
                more_rows.append([*head, f"{explained(truth, output):.2f}",
                                  f"{explained(truth, output, pooled['excitation']):.2f}",
                                  f"{explained(truth, output, pooled['below']):.2f}",
                                  f"{explained(truth, output, pooled['excitation'], pooled['below']):.2f}",
                                  f"{np.corrcoef(truth, pooled['excitation'])[0, 1]:+.2f}",
                                  f"{np.corrcoef(truth, pooled['below'])[0, 1]:+.2f}"])
                if name.startswith("held-out"):
                    for path, each in zip(files, steps):
                        one = dispersion(each["truth"], each["output"])
                        file_rows.append([kind, f"{rate / 1000:g} kHz", path.stem, f"{each['truth'].size}",
                                          f"{one['rho']:.2f}", f"{one['slope']:.2f}", f"{each['truth'].mean():+.1f}",
                                          f"{one['error']:+.1f}"])
    command = " ".join(["python scripts/envelope_dispersion.py", shlex.join(sys.argv[1:])]).strip()
    print(f"Produced by `{command}`\n")
    print(f"Model `{args.model}`, the pipeline's defaults (8 steps, seed 0). Per active frame (within {ACTIVE_DB:g} dB "
          "of the file's loudest), the brightness step: the power of the first octave above the cutoff over the "
          "octave under it, dB. rho: the correlation of the output's step with the reference's; slope: the "
          "output's regressed on the reference's (a calibrated least-squares estimate has slope rho^2); std: the "
          "steps' standard deviation, reference / output; error: output - reference, the mean over frames, then by "
          "the reference's step (share of the frames).\n")
    classes = [f"error, reference's step {class_name(low, high)} dB" for low, high in STEP_CLASSES]
    header = ["kind", "input rate", "files", "n", "rho", "rho^2", "slope", "std (dB)", "error (dB)", *classes]
    print("\n".join(markdown_table(header, rows)))
    print("\nWhat else the input holds: R^2 of the reference's steps fitted on the output's alone, with the level of "
          "the input's odd excitation above the cutoff (over the input's octave under it), with the input's own "
          "step an octave lower, and with both; and each one's correlation with the reference's steps.\n")
    print("\n".join(markdown_table(["kind", "input rate", "files", "R^2, output", "+ excitation", "+ input's step",
                                    "+ both", "rho, excitation", "rho, input's step"], more_rows)))
    print("\nThe held-out files one by one: active frames, rho, slope, the reference's mean step and the mean error "
          "(dB).\n")
    print("\n".join(markdown_table(["kind", "input rate", "file", "frames", "rho", "slope", "reference's step (dB)",
                                    "error (dB)"], file_rows)))

if __name__ == "__main__":
    main()
