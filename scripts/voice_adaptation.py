"""What `nuwave train --adapt` does for one voice: the shipped model fitted, through the command a user would run, to
the training split's lines of each voice of the held-out speech benchmark, and measured on that voice's held-out
lines, against the shipped model. Markdown to stdout.

The envelope the model predicts is a calibrated estimate of the band, but each voice's band sits some dB from it
that its input cannot tell (`eval/results/envelope_dispersion.md`: the held-out voices' means lie -5.0 to +6.1 dB
from their references' from 8 kHz). A user who has some wideband audio of the voice or instrument they upsample can
fit the model to it. A voice here is the name a line's file carries before its last word (`daemon_ack3`: daemon);
its training lines are the training split's lossless lines of that name (a line whose name a held-out line also
has, in another unit's folder, is left out); voices with `MIN_SECONDS` or more of them are fitted. The other
voices' held-out lines, upsampled with each fitted model, show what a voice's model does to the others.

Metrics as the benchmark takes them (`nuwave.benchmark.evaluate`, the standard degradation, 8 steps, seed 0): each
octave's band power against the reference's in active frames, LSD over sinc's and SNR against sinc's, the mean over
the voice's held-out lines.

    python scripts/voice_adaptation.py > eval/results/voice_adaptation.md
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nuwave.benchmark.evaluate import Suite, analysis_pipeline, file_metrics, outputs_by_file, suite_file
from nuwave.benchmark.tables import markdown_table
from nuwave.corpus.recipe import manifest_entries
from nuwave.inference.options import DEFAULT_MODEL

RATES = (8000, 16000)
MIN_SECONDS = 8.0


def line_name(path: str | Path) -> str:
    """A line's own name: its file's stem after the corpus's last folder separator (`...__sounds__daemon_ack3`:
    daemon_ack3)."""
    return Path(path).stem.split("__")[-1]


def voice_of(path: str | Path) -> str | None:
    """The voice a line's name gives (`daemon_ack3`: daemon, `axe_thrower_select6`: axe_thrower), or None for a
    name that does not end in a word with a number."""
    match = re.fullmatch(r"(.+)_[a-z]+\d+", line_name(path))
    return match.group(1) if match else None


def training_lines(data: Path, voice: str, held_out: set[str]) -> list[tuple[Path, float]]:
    """The training split's lossless speech lines of `voice` (path, seconds), but those whose name is in `held_out`."""
    return [(data / e["path"], float(e["seconds"])) for e in manifest_entries(data)
            if e["kind"] == "speech" and e["split"] == "train" and e["lossless"] and voice_of(e["path"]) == voice
            and line_name(e["path"]) not in held_out]


def adapt(model: str, lines: list[Path], run_dir: Path) -> tuple[Path, float]:
    """`nuwave train --adapt model` on `lines` into `run_dir`: the fitted model's folder and the seconds it took."""
    manifest = run_dir.parent / f"{run_dir.name}.txt"
    manifest.write_text("".join(f"{path.resolve()}\n" for path in lines))
    command = [sys.executable, "-m", "nuwave.cli.train", "--adapt", model, "--data", str(manifest), "--run-dir",
               str(run_dir)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run_dir / "export", time.perf_counter() - start


def measure(suite: Suite, files: list[Path], pipe, steps: int) -> dict[str, dict[str, float]]:
    """By condition ("standard-8k", ...): the mean over `files` of the model's octave errors, LSD over sinc's and SNR
    against sinc's."""
    outputs = outputs_by_file(replace(suite, files=tuple(files)), pipe, steps)
    out: dict[str, dict[str, list[float]]] = {}
    for condition in sorted({condition for condition, _, _ in outputs}):
        values: dict[str, list[float]] = {}
        for stem in {stem for c, stem, _ in outputs if c == condition}:
            metrics = {system: file_metrics(torch.from_numpy(outputs[condition, stem, system].audio).float(),
                                            torch.from_numpy(outputs[condition, stem, system].reference).float(),
                                            outputs[condition, stem, system].cutoff, suite.output_rate)
                       for system in ("sinc", "nuwave")}
            values.setdefault("octave 1", []).append(metrics["nuwave"]["band_db_1"])
            values.setdefault("octave 2", []).append(metrics["nuwave"]["band_db_2"])
            values.setdefault("lsd", []).append(metrics["nuwave"]["lsd"] / metrics["sinc"]["lsd"])
            values.setdefault("snr", []).append(metrics["nuwave"]["snr"] - metrics["sinc"]["snr"])
        out[condition] = values
    return {condition: {key: float(np.mean(v)) for key, v in values.items()} for condition, values in out.items()}


def transitions(pairs: dict[str, tuple[float, float]]) -> list[str]:
    """The table's cells, shipped -> fitted: octaves 1 and 2 (dB), LSD over sinc's, SNR against sinc's (dB) and the
    other voices' LSD over sinc's (`other`)."""
    return [f"{pairs['octave 1'][0]:+.1f} -> {pairs['octave 1'][1]:+.1f}",
            f"{pairs['octave 2'][0]:+.1f} -> {pairs['octave 2'][1]:+.1f}",
            f"{pairs['lsd'][0]:.3f} -> {pairs['lsd'][1]:.3f}", f"{pairs['snr'][0]:+.2f} -> {pairs['snr'][1]:+.2f}",
            f"{pairs['other'][0]:.3f} -> {pairs['other'][1]:.3f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    suite = replace(Suite.load(suite_file("speech"), args.data), input_rates=RATES, degradations=("standard",))
    held_out = {line_name(path) for path in suite.files}
    voices: dict[str, list[Path]] = {}
    for path in suite.files:
        if voice_of(path) is not None:
            voices.setdefault(voice_of(path), []).append(path)
    base = analysis_pipeline(args.model)
    base_figures = {path: measure(suite, [path], base, args.steps) for path in suite.files}

    def mean_of(paths: list[Path], figures: dict) -> dict[str, dict[str, float]]:
        return {condition: {key: float(np.mean([figures[p][condition][key] for p in paths]))
                            for key in figures[paths[0]][condition]} for condition in figures[paths[0]]}

    rows, skipped, summary = [], [], {}
    with tempfile.TemporaryDirectory() as folder:
        for voice, lines in sorted(voices.items()):
            training = training_lines(args.data, voice, held_out)
            seconds = sum(length for _, length in training)
            if seconds < MIN_SECONDS:
                skipped.append(f"{voice} ({seconds:.1f} s)")
                continue
            export, took = adapt(args.model, [path for path, _ in training], Path(folder) / voice)
            fitted = analysis_pipeline(str(export))
            own = measure(suite, lines, fitted, args.steps)
            others = [path for path in suite.files if path not in lines]
            other_fitted = measure(suite, others, fitted, args.steps)
            before, other_before = mean_of(lines, base_figures), mean_of(others, base_figures)
            for condition in own:
                pairs = {key: (before[condition][key], own[condition][key]) for key in own[condition]}
                pairs["other"] = (other_before[condition]["lsd"], other_fitted[condition]["lsd"])
                for key, pair in pairs.items():
                    summary.setdefault(condition, {}).setdefault(key, []).append(pair)
                rows.append([voice, f"{len(training)} ({seconds:.0f} s)", f"{len(lines)}", f"{took:.0f}", condition,
                             *transitions(pairs)])
        for condition, pairs in sorted(summary.items()):
            means = {key: tuple(np.mean(values, axis=0)) for key, values in pairs.items()}
            rows.append([f"mean of {len(pairs['lsd'])} voices", "", "", "", condition, *transitions(means)])
    command = " ".join(["python scripts/voice_adaptation.py", shlex.join(sys.argv[1:])]).strip()
    print(f"Produced by `{command}`\n")
    print(f"Model `{args.model}` and each voice's fit of it (`nuwave train --adapt {args.model} --data LINES`, its "
          f"other settings `nuwave.training.config.ADAPTATION`), {args.steps} steps, seed 0, on the held-out "
          "speech benchmark's lines of that voice, as shipped -> fitted: each octave above the cutoff against the "
          "reference's power in active frames (dB), LSD over sinc's and SNR against sinc's (dB), the mean over the "
          "voice's held-out lines; the last column: the other voices' held-out lines, LSD over sinc's as shipped -> "
          "with this voice's fit. `fit (s)`: the wall time of the fit on this machine.\n")
    header = ["voice", "training lines", "held-out lines", "fit (s)", "condition", "octave 1 (dB)", "octave 2 (dB)",
              "LSD / sinc", "SNR - sinc (dB)", "other voices' LSD / sinc"]
    print("\n".join(markdown_table(header, rows)))
    if skipped:
        print(f"\nVoices with under {MIN_SECONDS:g} s of training lines, not fitted: {', '.join(skipped)}.")


if __name__ == "__main__":
    main()
