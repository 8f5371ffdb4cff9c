"""What `nuwave train --adapt` does for one voice or instrument: the shipped model fitted, through the command a user
would run, to the training split's recordings of each voice and instrument of the held-out speech and music
benchmarks, and measured on its held-out recordings, against the shipped model. Markdown to stdout.

The envelope the model predicts is a calibrated estimate of the band, but each voice's band sits some dB from it
that its input cannot tell (`eval/results/envelope_dispersion.md`: the held-out voices' means lie -5.0 to +6.1 dB
from their references' from 8 kHz). A user who has some wideband audio of the voice or instrument they upsample can
fit the model to it. A voice here is the name a line's file carries before its last word (`daemon_ack3`: daemon), an
instrument the drum kit or sample set a recording comes from (`..._drumkits__belofilms_GuitarStrums__...`: a guitar);
its training recordings are the training split's lossless ones of that source, in name order up to `MAX_SECONDS`
(one whose name a held-out recording also has, in another folder, is left out); sources with `MIN_SECONDS` or more
of them are fitted. The other held-out recordings of the same kind, upsampled with each fitted model, show what a
source's model does to the others.

Metrics as the benchmark takes them (`nuwave.benchmark.evaluate`, the suite's output rate, the standard degradation,
8 steps, seed 0): each octave's band power against the reference's in active frames, LSD over sinc's and SNR against
sinc's, the mean over the source's held-out recordings.

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

from nuwave.benchmark.evaluate import Suite, analysis_pipeline, outputs_by_file, suite_file
from nuwave.benchmark.tables import markdown_table
from nuwave.corpus.recipe import manifest_entries
from nuwave.inference.options import DEFAULT_MODEL

# kind -> (the benchmark suite, its input rates for this measurement)
KINDS = {"speech": ("speech", (8000, 16000)), "music": ("music", (16000, 22050))}
MIN_SECONDS = 8.0
MAX_SECONDS = 60.0
# Less of each source's audio, for the second table: how much a fit needs.
AUDIO_CAPS = (10.0, 30.0)


def line_name(path: str | Path) -> str:
    """A line's own name: its file's stem after the corpus's last folder separator (`...__sounds__daemon_ack3`:
    daemon_ack3)."""
    return Path(path).stem.split("__")[-1]


def voice_of(path: str | Path) -> str | None:
    """The voice a line's name gives (`daemon_ack3`: daemon, `axe_thrower_select6`: axe_thrower), or None for a
    name that does not end in a word with a number."""
    match = re.fullmatch(r"(.+)_[a-z]+\d+", line_name(path))
    return match.group(1) if match else None


def instrument_of(path: str | Path) -> str | None:
    """The drum kit or sample set a recording comes from (`...__drumkits__rumpf_kit_z01_h2__beats_02-13`:
    rumpf_kit_z01_h2), or None."""
    match = re.search(r"__drumkits__(.+?)__", Path(path).stem)
    return match.group(1) if match else None


SOURCE_OF = {"speech": voice_of, "music": instrument_of}


def training_lines(data: Path, kind: str, source: str, held_out: set[str], max_seconds: float = MAX_SECONDS
                   ) -> list[tuple[Path, float]]:
    """The training split's lossless recordings of `kind` from `source` (path, seconds), in name order until they
    reach `max_seconds`, but those whose name is in `held_out`."""
    chosen, total = [], 0.0
    for entry in sorted(manifest_entries(data), key=lambda e: e["path"]):
        if (entry["kind"] == kind and entry["split"] == "train" and entry["lossless"]
                and SOURCE_OF[kind](entry["path"]) == source and line_name(entry["path"]) not in held_out
                and total < max_seconds):
            chosen.append((data / entry["path"], float(entry["seconds"])))
            total += float(entry["seconds"])
    return chosen


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
            metrics = {system: outputs[condition, stem, system].metrics for system in ("sinc", "nuwave")}
            values.setdefault("octave 1", []).append(metrics["nuwave"]["band_db_1"])
            values.setdefault("octave 2", []).append(metrics["nuwave"]["band_db_2"])
            values.setdefault("lsd", []).append(metrics["nuwave"]["lsd"] / metrics["sinc"]["lsd"])
            values.setdefault("snr", []).append(metrics["nuwave"]["snr"] - metrics["sinc"]["snr"])
        out[condition] = values
    return {condition: {key: float(np.mean(v)) for key, v in values.items()} for condition, values in out.items()}


def transitions(pairs: dict[str, tuple[float, float]]) -> list[str]:
    """The table's cells, shipped -> fitted: octaves 1 and 2 (dB; "-" where the band has no such octave), LSD over
    sinc's, SNR against sinc's (dB) and the others' LSD over sinc's (`other`)."""
    def octave(key: str) -> str:
        before, after = pairs[key]
        return "-" if np.isnan(before) else f"{before:+.1f} -> {after:+.1f}"

    return [octave("octave 1"), octave("octave 2"), f"{pairs['lsd'][0]:.3f} -> {pairs['lsd'][1]:.3f}",
            f"{pairs['snr'][0]:+.2f} -> {pairs['snr'][1]:+.2f}", f"{pairs['other'][0]:.3f} -> {pairs['other'][1]:.3f}"]


def kind_rows(suite: Suite, kind: str, data: Path, base_figures: dict, model: str, steps: int, folder: Path,
              max_seconds: float = MAX_SECONDS) -> tuple[list, list]:
    """The table's rows for every source of `kind` in `suite` with enough training recordings (fitted on up to
    `max_seconds` of them), and a mean row per condition; and the sources left out (with their seconds).
    `base_figures`: `measure` of each of the suite's files alone with the model as it is."""
    held_out = {line_name(path) for path in suite.files}
    sources: dict[str, list[Path]] = {}
    for path in suite.files:
        if SOURCE_OF[kind](path) is not None:
            sources.setdefault(SOURCE_OF[kind](path), []).append(path)

    def mean_of(paths: list[Path]) -> dict[str, dict[str, float]]:
        return {condition: {key: float(np.mean([base_figures[p][condition][key] for p in paths]))
                            for key in base_figures[paths[0]][condition]} for condition in base_figures[paths[0]]}

    rows, skipped, summary = [], [], {}
    for source, recordings in sorted(sources.items()):
        training = training_lines(data, kind, source, held_out, max_seconds)
        seconds = sum(length for _, length in training)
        if seconds < MIN_SECONDS:
            skipped.append(f"{source} ({seconds:.1f} s)")
            continue
        export, took = adapt(model, [path for path, _ in training], folder / f"{kind}-{source}-{max_seconds:g}")
        fitted = analysis_pipeline(str(export))
        own = measure(suite, recordings, fitted, steps)
        others = [path for path in suite.files if path not in recordings]
        other_fitted = measure(suite, others, fitted, steps)
        before, other_before = mean_of(recordings), mean_of(others)
        for condition in own:
            pairs = {key: (before[condition][key], own[condition][key]) for key in own[condition]}
            pairs["other"] = (other_before[condition]["lsd"], other_fitted[condition]["lsd"])
            for key, pair in pairs.items():
                summary.setdefault(condition, {}).setdefault(key, []).append(pair)
            rows.append([kind, source, f"{len(training)} ({seconds:.0f} s)", f"{len(recordings)}", f"{took:.0f}",
                         condition, *transitions(pairs)])
    for condition, pairs in sorted(summary.items()):
        means = {key: tuple(np.mean(values, axis=0)) for key, values in pairs.items()}
        rows.append([kind, f"mean of {len(pairs['lsd'])}", "", "", "", condition, *transitions(means)])
    return rows, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    base = analysis_pipeline(args.model)
    rows, skipped, amounts = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for kind, (suite_name, rates) in KINDS.items():
            suite = replace(Suite.load(suite_file(suite_name), args.data), input_rates=rates,
                            degradations=("standard",))
            base_figures = {path: measure(suite, [path], base, args.steps) for path in suite.files}
            table, missing = kind_rows(suite, kind, args.data, base_figures, args.model, args.steps, Path(folder))
            rows += table
            skipped += missing
            for cap in (*AUDIO_CAPS, MAX_SECONDS):
                capped = table if cap == MAX_SECONDS else kind_rows(
                    suite, kind, args.data, base_figures, args.model, args.steps, Path(folder), cap)[0]
                amounts += [[f"{cap:g}", *row[:2], *row[5:]] for row in capped if row[1].startswith("mean of")]
    command = " ".join(["python scripts/voice_adaptation.py", shlex.join(sys.argv[1:])]).strip()
    print(f"Produced by `{command}`\n")
    print(f"Model `{args.model}` and each source's fit of it (`nuwave train --adapt {args.model} --data "
          f"RECORDINGS`, its other settings `nuwave.training.config.ADAPTATION`; at most {MAX_SECONDS:g} s of "
          f"recordings), {args.steps} steps, seed 0, on the held-out benchmark's recordings of that voice or "
          "instrument, as shipped -> fitted: each octave above the cutoff against the reference's power in active "
          "frames (dB), LSD over sinc's and SNR against sinc's (dB), the mean over the source's held-out recordings; "
          "the last column: the other held-out recordings of the kind, LSD over sinc's as shipped -> with this "
          "source's fit. `fit (s)`: the wall time of the fit on this machine.\n")
    header = ["kind", "source", "training recordings", "held-out", "fit (s)", "condition", "octave 1 (dB)",
              "octave 2 (dB)", "LSD / sinc", "SNR - sinc (dB)", "the others' LSD / sinc"]
    print("\n".join(markdown_table(header, rows)))
    if skipped:
        print(f"\nSources with under {MIN_SECONDS:g} s of training recordings, not fitted: {', '.join(skipped)}.")
    print("\nHow much audio a fit needs: the same means with each source fitted on at most 10, 30 and 60 s of its "
          "recordings (a source with less is fitted on what it has).\n")
    print("\n".join(markdown_table(["at most (s)", "kind", "sources", "condition", "octave 1 (dB)", "octave 2 (dB)",
                                    "LSD / sinc", "SNR - sinc (dB)", "the others' LSD / sinc"], amounts)))


if __name__ == "__main__":
    main()
