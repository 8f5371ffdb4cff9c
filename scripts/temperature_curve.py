"""The sampling temperature's trade-off, measured: LSD against SNR of the model at one step count for a range of
temperatures, on every condition of the benchmark suites, mean ± std over seeds. Prints a Markdown table and
draws the LSD-SNR curves.

    python scripts/temperature_curve.py --suite speech --suite music --steps 8 --runs 3 \
        --plot eval/results/temperature_curve.png > eval/results/temperature_curve.md

Temperature 0 is the model's posterior-mean estimate (best SNR), 1 its full sample (generated band at the
reference's level, with its own phase). Needs the corpus (python scripts/prepare_data.py --out data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEMPERATURES = (0.0, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", required=True, help="a suite name in eval/suites/ or a path")
    parser.add_argument("--model", type=Path, default=Path("checkpoints/nuwave-base"))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--temperatures", default=",".join(f"{t:g}" for t in TEMPERATURES))
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()

    from nuwave.evaluate import Suite, evaluate, suite_file, summarise
    from nuwave.pipeline import load_pipeline

    temperatures = [float(item) for item in args.temperatures.split(",")]
    pipe = load_pipeline(args.model, "cpu")
    curves: dict[tuple[str, str], dict] = {}
    for name in args.suite:
        suite = Suite.load(suite_file(name))
        for temperature in temperatures:
            rows = summarise(evaluate(suite, pipe, (args.steps,), runs=args.runs, temperature=temperature))
            for row in rows:
                curve = curves.setdefault((suite.name, row["condition"]), {"points": []})
                if row["system"] == "nuwave":
                    curve["points"].append((temperature, row))
                elif row["system"] == "sinc" or (row["system"] == "input" and "base" not in curve):
                    curve["base"] = row

    print(f"Produced by `python scripts/temperature_curve.py {' '.join(sys.argv[1:])}` (model `{args.model}`, "
          f"{args.steps} steps, dpmsolver++, seeds 0..{args.runs - 1}, mean ± std over seeds). Baseline: sinc for "
          "rate conditions, the decoded input for mp3.\n")
    print("| suite | condition | temperature | LSD | LSD / baseline | SNR (dB) | SNR - baseline (dB) |")
    print("|---|---|---|---|---|---|---|")
    for (suite_name, condition), curve in curves.items():
        base = curve["base"]
        for temperature, row in curve["points"]:
            print(f"| {suite_name} | {condition} | {temperature:g} | {row['lsd']:.3f} ± {row['lsd_std']:.3f} "
                  f"| {row['lsd'] / base['lsd']:.2f} | {row['snr']:.2f} ± {row['snr_std']:.2f} "
                  f"| {row['snr'] - base['snr']:+.2f} |")
    if args.plot is not None:
        plot(curves, args.plot)


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 5))
    for (suite_name, condition), curve in curves.items():
        if condition == "mp3":
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


if __name__ == "__main__":
    main()
