"""Benchmark reports: a JSON of every number, Markdown tables per condition, and the figures
(`nuwave.benchmark.figures`)."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

from nuwave.benchmark.evaluate import Record, Suite, summarise
from nuwave.benchmark.figures import plot_band_diagnostics, plot_curves, plot_spectrograms
from nuwave.benchmark.metrics import (
    ACTIVE_DB,
    LSD_FLOOR,
    LSD_HOP,
    LSD_N_FFT,
    PAUSE_DB,
    SILENCE_MARGIN,
    SILENCE_SECONDS,
)
from nuwave.benchmark.tables import conditions, markdown_table
from nuwave.inference.options import DEFAULT_STEPS

HEADERS = {"lsd": "LSD", "lsd_hf": "LSD-HF", "lsd_lf": "LSD-LF", "snr": "SNR (dB)", "mrstft": "MR-STFT",
           "si_sdr": "SI-SDR (dB)"}
# The generated band's table: the octaves above the cutoff, pauses, digital silence (stereo suites add a
# per-file table of the band's correlation between the channels, `_stereo_table`).
BAND_HEADERS = {"band_db_1": "octave 1 (dB)", "band_db_2": "octave 2 (dB)", "band_db_3": "octave 3+ (dB)",
                "pause_db": "pauses (dB)", "lsd_active": "LSD active", "lsd_pause": "LSD pauses",
                "silence_dbfs": "in digital silence (dBFS)", "band_coherence": "coherence"}


def environment(device: str) -> dict:
    """Versions, the device in words, and the commit the numbers were produced with."""
    import diffusers
    import torch

    import nuwave

    if device.startswith("cuda"):
        device_name = torch.cuda.get_device_name(0)
    else:
        model = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                      if line.startswith("model name")), platform.processor() or "unknown CPU")
        device_name = f"{model}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                                cwd=Path(__file__).parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).parent).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"nuwave": nuwave.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "diffusers": diffusers.__version__, "numpy": np.__version__, "device": device_name, "commit": commit}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _stereo_table(records: list[Record]) -> list[str]:
    """Per file: the reference's band L/R correlation and each system's (nuwave: the mean over runs)."""
    systems = list(dict.fromkeys((r.system, r.steps) for r in records))
    names = [system if steps is None else f"{system} {steps}" for system, steps in systems]
    lines = []
    for file in dict.fromkeys(r.file for r in records):
        mine = [r for r in records if r.file == file]
        cells = [np.mean([r.metrics["band_corr"] for r in mine if (r.system, r.steps) == key]) for key in systems]
        lines.append([Path(file).name, f"{mine[0].metrics['reference_band_corr']:+.3f}",
                      *(f"{c:+.3f}" for c in cells)])
    return markdown_table(["file", "reference", *names], lines)


def band_correlations(records: list[dict], steps: int) -> dict[str, list[tuple[float, float]]]:
    """Per condition, each stereo file's band L/R correlation: (the reference's, the model's at the step count
    nearest `steps`, the mean over runs). `records`: `results.json`'s (a `Record`'s `__dict__`); {} for mono."""
    out = {}
    for condition in dict.fromkeys(r["condition"] for r in records):
        mine = [r for r in records if r["condition"] == condition and r["system"] == "nuwave"
                and "band_corr" in r["metrics"]]
        if not mine:
            continue
        nearest = min({r["steps"] for r in mine}, key=lambda count: abs(count - steps))
        by_file: dict[str, list[dict]] = {}
        for r in mine:
            if r["steps"] == nearest:
                by_file.setdefault(r["file"], []).append(r)
        out[condition] = [(runs[0]["metrics"]["reference_band_corr"],
                           float(np.mean([r["metrics"]["band_corr"] for r in runs]))) for runs in by_file.values()]
    return out


def _cell(row: dict, metric: str) -> str:
    if row["runs"] > 1:
        return f"{row[metric]:.3f} ± {row[metric + '_std']:.3f}"
    return f"{row[metric]:.3f}"


def markdown(suite: Suite, rows: list[dict], env: dict, command: str, sampler: str, model: str | None,
             records: list[Record] = ()) -> str:
    lines = [
        f"# Benchmark: {suite.name}",
        "",
        f"Produced by `{command}`",
        "",
        f"- references: {len(suite.files)} files, "
        f"{'both channels (metrics: the mean over the two)' if suite.stereo else 'mixed to mono'}, at "
        f"{suite.output_rate} Hz output; model: "
        f"`{model or 'none (baselines only)'}`; sampler: {sampler}",
        f"- device: {env['device']}; commit {env['commit']}; torch {env['torch']}, diffusers {env['diffusers']}",
        f"- LSD: STFT n_fft {LSD_N_FFT}, hop {LSD_HOP}, Hann, centred (reflect), power, log10 with a clamp at "
        f"{LSD_FLOOR:g}; RMS over bins per frame, mean over frames, mean over files; LSD-HF / LSD-LF split at "
        "`int(1025 * input_rate / output_rate)` (for mp3: twice the detected cutoff). SNR floor 1e-8. MR-STFT: "
        "auraloss defaults (FFT 1024/2048/512, hop 120/240/50, window 600/1200/240).",
        "- outputs are not clipped and not rescaled; metrics on aligned, equal-length signals at the output rate.",
        "- values are the mean over files; with several runs (seeds 0..N-1), mean ± std over runs. RTF: processing "
        "time / audio duration on the device above (lower is faster).",
        "",
    ]
    lines += [
        f"- the generated band (second table of each condition): frames are *active* within {ACTIVE_DB:g} dB of "
        f"the reference's loudest frame and *pauses* more than {PAUSE_DB:g} dB under it (LSD front end); octave k: "
        "the output's power against the reference's in the k-th octave above the cutoff (the last one up to the "
        "Nyquist frequency), active frames, dB; pauses: the same for the whole band above the cutoff in pause "
        "frames; LSD active / pauses: the LSD over those frames; in digital silence: the output's RMS inside the "
        f"reference's runs of exact zeros of {SILENCE_SECONDS:g} s or more, {SILENCE_MARGIN:g} s in from their "
        "edges (-200: exactly silent); coherence: the correlation of the output's band above the cutoff with the "
        "reference's (1: its waveform; near 0: a band with its own phase, which at the reference's power doubles "
        "the waveform error of the missing band, up to 3 dB of SNR under sinc's). "
        "`nuwave.benchmark.metrics.band_diagnostics`.",
        "",
    ]
    if suite.stereo:
        lines += ["- stereo: band L/R correlation: the correlation between the channels of the band above the cutoff "
                  "(`nuwave.benchmark.metrics.band_correlation`), per file below each condition, beside the "
                  "reference's.", ""]
    for condition in conditions(rows):
        ordered = sorted((r for r in rows if r["condition"] == condition),
                         key=lambda r: (r["system"] == "nuwave", r["system"], r["steps"] or 0))
        lines += [f"## {condition}", ""] + _table(ordered, HEADERS, rtf=True) + [""]
        lines += _table(ordered, BAND_HEADERS) + [""]
        if suite.stereo:
            lines += _stereo_table([r for r in records if r.condition == condition]) + [""]
    return "\n".join(lines)


def _table(rows: list[dict], headers: dict, rtf: bool = False) -> list[str]:
    lines = [[row["system"], "-" if row["steps"] is None else row["steps"], *(_cell(row, m) for m in headers),
              *([f"{row['rtf']:.4f}"] if rtf else [])] for row in rows]
    return markdown_table(["system", "steps", *headers.values(), *(["RTF"] if rtf else [])], lines)


def write_report(out: Path, suite: Suite, records: list[Record], kept: dict, env: dict, command: str,
                 sampler: str, model: str | None) -> list[Path]:
    """Write results.json, report.md and, with matplotlib installed (`pip install nuwave[eval]`), curves.png,
    spectrograms.png and bands.png (the generated band's diagnostics at the default step count) under `out`;
    returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    rows = summarise(records)
    results = {"suite": suite.name, "command": command, "environment": env, "sampler": sampler, "model": model,
               "output_rate": suite.output_rate, "summary": rows,
               "records": [record.__dict__ for record in records]}
    paths = [out / "results.json", out / "report.md", out / "curves.png", out / "spectrograms.png", out / "bands.png"]
    paths[0].write_text(json.dumps(results, indent=1))
    paths[1].write_text(markdown(suite, rows, env, command, sampler, model, records))
    if importlib.util.find_spec("matplotlib") is None:
        return paths[:2]
    plot_curves(rows, paths[2])
    plot_spectrograms(kept, suite.output_rate, paths[3], f"{suite.name}: {Path(suite.files[0]).name}")
    plot_band_diagnostics(rows, paths[4], DEFAULT_STEPS, band_correlations(results["records"], DEFAULT_STEPS))
    return paths
