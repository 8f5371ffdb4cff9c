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

from nuwave.inference.options import DEFAULT_MODEL, DEFAULT_SAMPLER

TEMPERATURES = (0.0, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", required=True, help="a shipped suite's name or a suite file")
    parser.add_argument("--data", type=Path, default=Path("data"), help="the folder of the suites' manifests")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--sampler", default=DEFAULT_SAMPLER)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--temperatures", default=",".join(f"{t:g}" for t in TEMPERATURES))
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()

    from nuwave.benchmark.evaluate import Suite, evaluate, suite_file, summarise
    from nuwave.benchmark.figures import plot_temperature
    from nuwave.benchmark.tables import temperature_table
    from nuwave.inference.loading import load_pipeline
    from nuwave.models.schedule import make_sampler

    temperatures = [float(item) for item in args.temperatures.split(",")]
    pipe = load_pipeline(args.model, "cpu")
    pipe.scheduler = make_sampler(args.sampler, pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    curves: dict[tuple[str, str], dict] = {}
    for name in args.suite:
        suite = Suite.load(suite_file(name), args.data)
        for temperature in temperatures:
            rows = summarise(evaluate(suite, pipe, (args.steps,), runs=args.runs, temperature=temperature))
            for row in rows:
                curve = curves.setdefault((suite.name, row["condition"]), {"points": []})
                if row["system"] == "nuwave":
                    curve["points"].append((temperature, row))
                elif row["system"] == "sinc" or (row["system"] == "input" and "base" not in curve):
                    curve["base"] = row

    print(f"Produced by `python scripts/temperature_curve.py {' '.join(sys.argv[1:])}` (model `{args.model}`, "
          f"{args.steps} steps, {args.sampler}, seeds 0..{args.runs - 1}, mean ± std over seeds). Baseline: sinc "
          "for rate conditions, the decoded input for mp3.\n")
    print("\n".join(temperature_table(curves)))
    if args.plot is not None:
        plot_temperature(curves, args.plot)


if __name__ == "__main__":
    main()
