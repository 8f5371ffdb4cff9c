"""The benchmark's figures (matplotlib, drawn off-screen): LSD against steps and speed, spectrograms, the generated
band's diagnostics, the temperature trade-off, and a training run's curves. Each takes numbers or audio and a path
to write."""

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


def _at_steps(rows: list[dict], condition: str, system: str, steps: int) -> dict | None:
    """The summary row of `system` on `condition`; for the model, at the step count nearest `steps`."""
    mine = [r for r in rows if r["condition"] == condition and r["system"] == system]
    return min(mine, key=lambda r: abs((r["steps"] or steps) - steps), default=None)


def plot_band_diagnostics(rows: list[dict], path: Path, steps: int = 8,
                          correlations: dict[str, list[tuple[float, float]]] | None = None) -> None:
    """The generated band per condition, as the report's second tables give it: the power error of each octave
    above the cutoff in active frames (the ±4 dB target shaded), the band's level in pauses over the reference's
    (the +10 dB bound dashed), and the LSD of active and of pause frames; sinc, sbr and the model at `steps`.
    With `correlations` (condition -> (the reference's, the output's) band L/R correlation per stereo file), a
    fourth panel sets the output's against the reference's. Sinc's missing band lies 20-70 dB under: its octave
    and pause bars are drawn to the panel's edge, their values written there."""
    plt = pyplot()
    names = conditions(rows)
    systems = [("sinc", "C7"), ("sbr", "C1"), ("nuwave", "C0")]
    panels = 4 if correlations else 3
    figure, axes = plt.subplots(1, panels, figsize=(4.2 * panels + 2, 4.2))
    octaves, pauses, lsd = axes[:3]
    width = 0.8 / len(systems)
    limit = 16.0
    for offset, (system, color) in enumerate(systems):
        picked = [_at_steps(rows, name, system, steps) for name in names]
        label = f"{system} ({steps} steps)" if system == "nuwave" else system
        for index, row in enumerate(picked):
            if row is None:
                continue
            for octave in (1, 2, 3):
                value = row.get(f"band_db_{octave}", float("nan"))
                if not np.isfinite(value):
                    continue
                x = index * 3.5 + (octave - 1) + (offset - 1) * width
                shown = float(np.clip(value, -limit, limit))
                octaves.bar(x, shown, width, color=color, label=label if index == 0 and octave == 1 else None)
                if shown != value:
                    octaves.annotate(f"{value:.0f}", (x, shown), fontsize=6, ha="center",
                                     va="top" if value < 0 else "bottom")
            x = index + (offset - 1) * width
            if np.isfinite(row.get("pause_db", float("nan"))):
                shown = float(np.clip(row["pause_db"], -limit * 2, limit * 2))
                pauses.bar(x, shown, width, color=color, label=label if index == 0 else None)
                if shown != row["pause_db"]:
                    pauses.annotate(f"{row['pause_db']:.0f}", (x, shown), fontsize=6, ha="center", va="top")
            lsd.bar(x, row["lsd_active"], width, color=color, label=f"{label}: active" if index == 0 else None)
            lsd.bar(x, row["lsd_pause"], width * 0.45, color="white", edgecolor=color, hatch="//",
                    label=f"{label}: pauses" if index == 0 else None)
    octaves.axhspan(-4, 4, color="C2", alpha=0.12, label="target: within ±4 dB")
    octaves.set_xticks([index * 3.5 + 1 for index in range(len(names))], names, rotation=30, fontsize=7, ha="right")
    octaves.set(ylim=(-limit - 2, limit + 2), ylabel="dB against the reference",
                title="octaves 1 / 2 / 3+ above the cutoff, active frames")
    pauses.axhline(10, color="C3", linestyle="--", linewidth=1, label="bound: +10 dB")
    pauses.set(ylim=(-limit * 2 - 4, limit * 2 + 4), ylabel="dB against the reference", title="the band in pauses")
    lsd.set(ylabel="LSD", title="LSD: active frames (solid), pauses (hatched)")
    for axis in (pauses, lsd):
        axis.set_xticks(range(len(names)), names, rotation=30, fontsize=7, ha="right")
    if correlations:
        axis = axes[3]
        for index, (name, pairs) in enumerate(correlations.items()):
            axis.scatter(*zip(*pairs), color=f"C{index % 10}", s=18, label=name)
        axis.plot([-1, 1], [-1, 1], color="grey", linewidth=0.8)
        axis.set(xlim=(-1.05, 1.05), ylim=(-1.05, 1.05), xlabel="reference's band L/R correlation",
                 ylabel="output's", title=f"stereo: the band's L/R correlation ({steps} steps)")
        axis.legend(fontsize=6)
    for axis in axes:
        axis.grid(alpha=0.3, axis="y")
    for axis in axes[:3]:
        axis.legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
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
