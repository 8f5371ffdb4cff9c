"""Where the model's SNR goes against sinc's, file by file, on every rate condition of the benchmark suites: how
much the generated band's level costs and how much its missing coherence does. Markdown to stdout.

The error of an output is exactly its error at and under the cutoff plus, above it, P_ref (1 + g - 2 rho sqrt(g)),
where P_ref is the reference's energy above the cutoff, g the output's band energy over it and rho the correlation of
the two bands (whole-file spectra, so the split is exact; sinc leaves the band empty: 1 instead). So one can say what
each file's SNR would be with its band at the reference's power (g = 1, its own rho and its own error under the
cutoff): what a right envelope alone would give, and what is left to coherence. The outputs are the benchmark's
own (`nuwave.benchmark.evaluate`, as `nuwave eval` runs it: the package's defaults, seed 0).

    python scripts/snr_breakdown.py --suite speech --suite music --suite speech-pauses --suite stereo \
        > eval/results/snr_breakdown.md
"""

from __future__ import annotations

import argparse
import shlex
import sys

import numpy as np

from nuwave.benchmark.evaluate import (
    Suite,
    add_analysis_options,
    analysis_pipeline,
    condition_name,
    outputs_by_file,
    rate_conditions,
    suite_file,
)
from nuwave.benchmark.tables import coherence_needed, markdown_table
from nuwave.inference.options import DEFAULT_MODEL

# A band this far over the reference's power, in dB, counts as overshooting in the summary.
OVERSHOOT_DB = 3.0
# The coherence a band at the reference's power needs for the SNR target.
RHO_AT_LEVEL = coherence_needed(0.0)


def band_terms(output: np.ndarray, reference: np.ndarray, cutoff: float, rate: int) -> dict:
    """Energies of `(C, T)` output and reference, split at `cutoff` Hz: the reference's total and its band above,
    the output's band above, their cross term above, and the output's error at and under the cutoff."""
    spectrum = lambda x: np.fft.rfft(np.asarray(x, dtype=np.float64), axis=-1)
    out, ref = spectrum(output), spectrum(reference)
    above = np.fft.rfftfreq(reference.shape[-1], 1 / rate) > cutoff
    energy = lambda x: float(np.sum(np.abs(x) ** 2))
    return {"total": energy(ref), "ref": energy(ref[:, above]), "out": energy(out[:, above]),
            "cross": float(np.real(np.sum(out[:, above] * np.conj(ref[:, above])))),
            "low": energy((out - ref)[:, ~above])}


def snr_db(total: float, error: float) -> float:
    """The benchmark's SNR (`nuwave.benchmark.metrics.snr`) from energies."""
    return 10 * np.log10(total / max(error, 1e-16))


def file_row(terms: dict, sinc: dict) -> dict:
    """A file's figures from its `band_terms` and sinc's."""
    rho = terms["cross"] / max(np.sqrt(terms["out"] * terms["ref"]), 1e-30)
    level = 10 * np.log10(max(terms["out"], 1e-30) / max(terms["ref"], 1e-30))
    measured = snr_db(terms["total"], terms["low"] + terms["ref"] + terms["out"] - 2 * terms["cross"])
    at_level = snr_db(terms["total"], terms["low"] + terms["ref"] * (2 - 2 * rho))
    base = snr_db(sinc["total"], sinc["low"] + sinc["ref"] + sinc["out"] - 2 * sinc["cross"])
    return {"level": level, "rho": rho, "measured": measured - base, "at_level": at_level - base}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", action="append", required=True, help="suite name or JSON (repeatable)")
    add_analysis_options(parser)
    args = parser.parse_args()
    pipe = analysis_pipeline(args.model)
    summary, files = [], []
    for name in args.suite:
        suite = Suite.load(suite_file(name), args.data)
        # the rate conditions, run as the benchmark runs them
        rated = rate_conditions(suite)
        outputs = outputs_by_file(rated, pipe, args.steps)
        rate = suite.output_rate
        for condition in map(condition_name, rated.conditions()):
            rows = []
            for path in suite.files:
                output, sinc = outputs[condition, path.stem, "nuwave"], outputs[condition, path.stem, "sinc"]
                reference = np.atleast_2d(output.reference)
                model, base = np.atleast_2d(output.audio), np.atleast_2d(sinc.audio)
                # per channel, then their mean, as the benchmark takes a stereo file's metrics
                channels = [file_row(band_terms(model[c : c + 1], reference[c : c + 1], output.cutoff, rate),
                                     band_terms(base[c : c + 1], reference[c : c + 1], output.cutoff, rate))
                            for c in range(reference.shape[0])]
                row = {key: float(np.mean([c[key] for c in channels])) for key in channels[0]}
                rows.append(row)
                files.append([suite.name, condition, path.stem, f"{row['level']:+.1f}",
                              f"{row['rho']:+.2f}", f"{row['measured']:+.2f}", f"{row['at_level']:+.2f}"])
            mean = lambda key: float(np.mean([r[key] for r in rows]))
            over = [r for r in rows if r["level"] > OVERSHOOT_DB]
            without = [r["measured"] for r in rows if r["level"] <= OVERSHOOT_DB]
            summary.append([suite.name, condition, len(rows), f"{mean('measured'):+.2f}",
                            f"{mean('at_level'):+.2f}", f"{np.median([r['level'] for r in rows]):+.1f}",
                            f"{len(over)}", f"{np.mean(without):+.2f}" if without else "-",
                            f"{mean('rho'):+.3f}", f"{np.mean([r['rho'] >= RHO_AT_LEVEL for r in rows]):.0%}"])
    print("Produced by `python scripts/snr_breakdown.py "
          + " ".join(f"--suite {shlex.quote(s)}" for s in args.suite)
          + (f" --model {shlex.quote(args.model)}" if args.model != DEFAULT_MODEL else "")
          + (f" --steps {args.steps}" if args.steps != 8 else "") + "`\n")
    print(f"SNR - sinc's in dB, the mean over files (a stereo file's: the mean of its channels') as the benchmark "
          f"takes it (seed 0, {args.steps} steps). "
          "`at the reference's level`: each file's band brought to the reference's power, its coherence and its "
          "error under the cutoff unchanged. `band level`: the output's energy above the cutoff over the "
          f"reference's, whole file. Files whose band is more than {OVERSHOOT_DB:g} dB over the reference's are "
          f"counted, and the mean is given without them. A band at the reference's power needs rho >= "
          f"{RHO_AT_LEVEL:.2f} for an SNR within 1.5 dB of sinc's.\n")
    print("\n".join(markdown_table(
        ["suite", "condition", "files", "SNR - sinc's", "at the reference's level", "median band level (dB)",
         f"files over +{OVERSHOOT_DB:g} dB", "SNR - sinc's without them", "mean rho",
         f"files with rho >= {RHO_AT_LEVEL:.2f}"], summary)))
    print("\nFile by file:\n")
    print("\n".join(markdown_table(["suite", "condition", "file", "band level (dB)", "rho", "SNR - sinc's",
                                    "at the reference's level"], files)))


if __name__ == "__main__":
    sys.exit(main())
