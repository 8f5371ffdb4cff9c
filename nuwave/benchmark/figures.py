"""The benchmark's figures (matplotlib, drawn off-screen): LSD against steps and speed, spectrograms, the
temperature trade-off, and a training run's curves. Each takes numbers or audio and a path to write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nuwave.benchmark.tables import conditions


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def spectrogram(axis, audio: np.ndarray, sample_rate: int, title: str) -> None:
    """A dB spectrogram of `(T,)` audio on `axis` (Hann 1024, hop 256; -130 to -30 dB), frequency in kHz."""
    from scipy import signal

    freqs, times, power = signal.spectrogram(audio, sample_rate, nperseg=1024, noverlap=768)
    axis.pcolormesh(times, freqs / 1000, 10 * np.log10(power + 1e-12), vmin=-130, vmax=-30, shading="auto",
                    cmap="magma")
    axis.set(title=title, xlabel="s", ylabel="kHz", ylim=(0, sample_rate / 2000))


def plot_curves(rows: list[dict], path: Path) -> None:
    """LSD against steps and against RTF, one line per condition, baselines dashed."""
    plt = pyplot()
    figure, (by_steps, by_rtf) = plt.subplots(1, 2, figsize=(12, 4.5))
    for index, condition in enumerate(conditions(rows)):
        color = f"C{index % 10}"
        model = sorted((r for r in rows if r["condition"] == condition and r["system"] == "nuwave"),
                       key=lambda r: r["steps"])
        if model:
            steps = [r["steps"] for r in model]
            by_steps.errorbar(steps, [r["lsd"] for r in model], yerr=[r["lsd_std"] for r in model], marker="o",
                              color=color, label=f"nuwave {condition}")
            by_rtf.plot([r["rtf"] for r in model], [r["lsd"] for r in model], marker="o", color=color,
                        label=f"nuwave {condition}")
            for r in model:
                by_rtf.annotate(str(r["steps"]), (r["rtf"], r["lsd"]), fontsize=7)
        for r in rows:
            if r["condition"] == condition and r["system"] == "sinc":
                by_steps.axhline(r["lsd"], color=color, linestyle="--", linewidth=1, label=f"sinc {condition}")
            if r["condition"] == condition and r["system"] == "sbr":
                by_steps.axhline(r["lsd"], color=color, linestyle=":", linewidth=1, label=f"sbr {condition}")
    by_steps.set(xscale="log", xlabel="sampling steps", ylabel="LSD (lower is better)", title="quality vs steps")
    by_rtf.set(xscale="log", xlabel="real-time factor", ylabel="LSD", title="quality vs speed")
    for axis in (by_steps, by_rtf):
        axis.grid(alpha=0.3)
    by_steps.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_spectrograms(kept: dict, output_rate: int, path: Path, title: str = "") -> None:
    """Spectrograms (dB) of the reference, input, sinc and model outputs kept for one file per condition."""
    plt = pyplot()
    conditions = list(dict.fromkeys(c for c, _ in kept))
    columns = ["reference", "input", "sinc", "sbr", "nuwave"]
    figure, axes = plt.subplots(len(conditions), len(columns), figsize=(4 * len(columns), 2.8 * len(conditions)),
                                squeeze=False)
    for row, condition in enumerate(conditions):
        for col, system in enumerate(columns):
            axis = axes[row][col]
            audio = kept.get((condition, system))
            if audio is None:
                axis.axis("off")
                continue
            spectrogram(axis, audio[: output_rate * 6], output_rate, f"{condition}: {system}")
            axis.title.set_fontsize(9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_temperature(curves: dict, path: Path) -> None:
    """LSD / baseline against SNR - baseline per rate condition, one point per temperature
    (`nuwave.benchmark.tables.temperature_table` gives the numbers)."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 5))
    for (suite_name, condition), curve in curves.items():
        if curve["base"]["system"] != "sinc":  # a codec's condition: not a rate condition
            continue
        base = curve["base"]
        lsd = [row["lsd"] / base["lsd"] for _, row in curve["points"]]
        snr = [row["snr"] - base["snr"] for _, row in curve["points"]]
        line, = axis.plot(snr, lsd, marker="o", label=f"{suite_name} {condition}")
        for (temperature, _), x, y in zip(curve["points"], snr, lsd):
            if temperature in (0.0, 1.0):
                axis.annotate(f"{temperature:g}", (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7,
                              color=line.get_color())
    axis.axvline(-1.0, color="grey", linestyle=":", linewidth=1)
    axis.set_xlabel("SNR - sinc SNR (dB)")
    axis.set_ylabel("LSD / sinc LSD")
    axis.set_title("Sampling temperature: 0 (posterior mean) to 1 (full sample)")
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def training_records(run_dir: Path) -> dict[int, dict]:
    """A run's `metrics.jsonl`, one record per step (a resumed run may log a step twice: the later line wins)."""
    steps: dict[int, dict] = {}
    for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        steps.setdefault(record["step"], {}).update(record)
    return dict(sorted(steps.items()))


def plot_training(records: dict[int, dict], path: Path, title: str) -> None:
    """Training losses (diffusion, envelope, validation) and the validation LSD against optimizer steps."""
    plt = pyplot()
    loss = [(s, r["loss/diffusion"]) for s, r in records.items() if "loss/diffusion" in r]
    lsd = [(s, r["val/lsd"]) for s, r in records.items() if "val/lsd" in r]
    val_loss = [(s, r["val/loss"]) for s, r in records.items() if "val/loss" in r]
    envelope = [(s, r["loss/envelope"]) for s, r in records.items() if "loss/envelope" in r]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    if loss:  # an envelope-only run (`--train-only envelope`) has none
        left.plot(*zip(*loss), lw=0.8, label="training: v-prediction MSE (per log interval)")
    if envelope:
        left.plot(*zip(*envelope), lw=0.8, label="training: envelope error (bels)")
    if val_loss:
        label = "validation: total loss (EMA weights)"
        left.plot(*zip(*val_loss), "o-", label=label)
    left.set(xlabel="optimizer step", ylabel="loss", yscale="log", title="training losses")
    left.legend()
    if lsd:
        right.plot(*zip(*lsd), "o-", color="C2")
    right.set(xlabel="optimizer step", ylabel="LSD", title="validation LSD (EMA weights)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(title, fontsize=8)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
