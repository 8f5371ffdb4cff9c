"""Markdown tables from benchmark summaries: the one table writer, the baseline a condition is compared with, the
headline table of the README and the quality targets (`eval/results/headline.md`, `eval/results/targets.md`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The quality targets of the generated band, at the default settings and the checked step count.
LSD_RATIO_MAX = 0.45  # LSD / sinc's, rate conditions
CODEC_RATIO_MAX = 0.9  # LSD / the decoded input's, the MP3 condition
OCTAVE_DB_MAX = 4.0  # |power error| of every octave above the cutoff in active frames
PAUSE_DB_MAX = 10.0  # the band in pauses over the reference's
SILENCE_DBFS_MAX = -90.0  # the output inside digital silence
MORE_STEPS_LSD_MAX = 0.02  # LSD at 16 and 32 steps over the LSD at the checked count
SNR_GAP_MIN = -1.5  # SNR - sinc's
OPPOSITE_CORR_MAX = -0.9  # the band's L/R correlation of an L = -R probe
UNRELATED_CORR_MAX = 0.3  # |the band's L/R correlation| of two unrelated channels


def coherence_needed(level_db: float) -> float:
    """The correlation with the reference's band that a generated band `level_db` from the reference's power needs
    for an SNR within `-SNR_GAP_MIN` dB of sinc's, when the missing band makes sinc's error: the error above the
    cutoff is the reference band's energy times 1 + g - 2 rho sqrt(g) (g: the power ratio), sinc's times 1, so the
    factor may reach 10^(-SNR_GAP_MIN / 10). 0 when any coherence does."""
    g = 10 ** (level_db / 10)
    return max(0.0, (1 + g - 10 ** (-SNR_GAP_MIN / 10)) / (2 * np.sqrt(g)))


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """The lines of a Markdown table; cells are written with `str`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def by_key(summary: list[dict]) -> dict[tuple, dict]:
    """Summary rows (`nuwave.benchmark.evaluate.summarise`) by (condition, system, steps)."""
    return {(row["condition"], row["system"], row["steps"]): row for row in summary}


def baseline(rows: dict[tuple, dict], condition: str) -> dict:
    """What the model is compared with: sinc on a rate condition, the decoded input on a codec condition."""
    return rows.get((condition, "sinc", None)) or rows[(condition, "input", None)]


def conditions(summary: list[dict]) -> list[str]:
    """The conditions of summary rows, in their first order."""
    return list(dict.fromkeys(row["condition"] for row in summary))


def headline(results: list[dict], steps: int) -> list[str]:
    """Per suite and condition: the baseline against nuwave at `steps` (LSD, its ratio, LSD-HF, SNR and its
    difference, RTF), mean ± std over the report's seeds. `results`: the `results.json` of `nuwave eval` runs."""
    header = ["suite", "input", "sinc LSD", f"nuwave LSD ({steps} steps)", "ratio", "sinc LSD-HF", "nuwave LSD-HF",
              "sinc SNR (dB)", "nuwave SNR (dB)", "SNR - sinc (dB)", "nuwave RTF"]
    lines = []
    for result in results:
        rows = by_key(result["summary"])
        for condition in conditions(result["summary"]):
            model = rows.get((condition, "nuwave", steps))
            if model is None:
                continue
            base = baseline(rows, condition)
            note = "" if base["system"] == "sinc" else " (baseline: decoded input)"
            lines.append([result["suite"], condition + note, f"{base['lsd']:.3f}",
                          f"{model['lsd']:.3f} ± {model['lsd_std']:.3f}", f"{model['lsd'] / base['lsd']:.2f}",
                          f"{base['lsd_hf']:.3f}", f"{model['lsd_hf']:.3f}", f"{base['snr']:.2f}",
                          f"{model['snr']:.2f} ± {model['snr_std']:.2f}", f"{model['snr'] - base['snr']:+.2f}",
                          f"{model['rtf']:.3f}"])
    return markdown_table(header, lines)


def target_checks(result: dict, steps: int) -> list[tuple[str, str, float, str, bool]]:
    """(condition, target, measured, bound, holds) for one suite's `results.json`."""
    rows = by_key(result["summary"])
    out = []
    for condition in conditions(result["summary"]):
        model = rows.get((condition, "nuwave", steps))
        if model is None:
            continue
        base = baseline(rows, condition)
        ratio = model["lsd"] / base["lsd"]
        if base["system"] == "sinc":
            out.append((condition, "LSD / sinc's", ratio, f"<= {LSD_RATIO_MAX:g}", ratio <= LSD_RATIO_MAX))
            gap = model["snr"] - base["snr"]
            out.append((condition, "SNR - sinc's (dB)", gap, f">= {SNR_GAP_MIN:g}", gap >= SNR_GAP_MIN))
        else:
            out.append((condition, "LSD / decoded input's", ratio, f"<= {CODEC_RATIO_MAX:g}",
                        ratio <= CODEC_RATIO_MAX))
        for octave in (1, 2, 3):
            value = model.get(f"band_db_{octave}", float("nan"))
            if np.isfinite(value):
                out.append((condition, f"octave {octave} above the cutoff, active frames (dB)", value,
                            f"within ±{OCTAVE_DB_MAX:g}", abs(value) <= OCTAVE_DB_MAX))
        for key, name, bound, holds in (
            ("pause_db", "band in pauses over the reference's (dB)", f"<= {PAUSE_DB_MAX:g}",
             lambda v: v <= PAUSE_DB_MAX),
            ("silence_dbfs", "output inside digital silence (dBFS)", f"< {SILENCE_DBFS_MAX:g}",
             lambda v: v < SILENCE_DBFS_MAX),
        ):
            value = model.get(key, float("nan"))
            if np.isfinite(value):
                out.append((condition, name, value, bound, holds(value)))
        for more in (16, 32):
            other = rows.get((condition, "nuwave", more))
            if other is not None:
                worse = other["lsd"] - model["lsd"]
                out.append((condition, f"LSD at {more} steps - at {steps}", worse, f"<= {MORE_STEPS_LSD_MAX:g}",
                            worse <= MORE_STEPS_LSD_MAX))
    if result["suite"] == "stereo":
        for record in result["records"]:
            if record["system"] != "nuwave" or record["steps"] != steps or record["run"] != 0:
                continue
            name = Path(record["file"]).stem
            value = record["metrics"]["band_corr"]
            if not np.isfinite(value):  # no band to correlate (an input that is full band)
                continue
            where = f"{record['condition']} {name}"
            if name.startswith("opposite"):
                out.append((where, "band L/R correlation", value, f"<= {OPPOSITE_CORR_MAX:g}",
                            value <= OPPOSITE_CORR_MAX))
            elif name.startswith("unrelated"):
                out.append((where, "band L/R correlation", value, f"within ±{UNRELATED_CORR_MAX:g}",
                            abs(value) <= UNRELATED_CORR_MAX))
    return out


def targets(results: list[dict], steps: int) -> list[str]:
    """The target table of several suites' results and a last line counting the targets that hold."""
    lines, held = [], 0
    for result in results:
        for condition, target, value, bound, holds in target_checks(result, steps):
            lines.append([result["suite"], condition, target, f"{value:+.3f}", bound, "yes" if holds else "NO"])
            held += holds
    table = markdown_table(["suite", "condition", "target", "measured", "bound", "holds"], lines)
    return table + ["", f"{held} of {len(lines)} targets hold."]


def temperature_table(curves: dict) -> list[str]:
    """`{(suite, condition): {"base": row, "points": [(temperature, row), ...]}}` -> LSD and SNR against the
    temperature, beside the baseline's."""
    lines = []
    for (suite_name, condition), curve in curves.items():
        base = curve["base"]
        for temperature, row in curve["points"]:
            lines.append([suite_name, condition, f"{temperature:g}", f"{row['lsd']:.3f} ± {row['lsd_std']:.3f}",
                          f"{row['lsd'] / base['lsd']:.2f}", f"{row['snr']:.2f} ± {row['snr_std']:.2f}",
                          f"{row['snr'] - base['snr']:+.2f}"])
    header = ["suite", "condition", "temperature", "LSD", "LSD / baseline", "SNR (dB)", "SNR - baseline (dB)"]
    return markdown_table(header, lines)
