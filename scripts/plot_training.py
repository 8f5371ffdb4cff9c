"""Plot a training run's curves from its `metrics.jsonl`: diffusion loss and validation LSD against steps.

    python scripts/plot_training.py runs/nuwave-base -o eval/results/training_curve.png

Prints the run's summary (steps, wall time, last validation) as a Markdown list too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nuwave.benchmark.figures import plot_training, training_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    records = training_records(args.run_dir)
    plot_training(records, args.out, f"{args.run_dir.name}: python scripts/plot_training.py {args.run_dir} -o "
                  f"{args.out}")
    times = [r["time"] for r in records.values()]
    lsd = [(s, r["val/lsd"], r.get("val/loss", float("nan"))) for s, r in records.items() if "val/lsd" in r]
    config = json.loads((args.run_dir / "config.json").read_text())
    print(f"- steps logged: {max(records)} of {config['max_steps']}")
    print(f"- wall time between first and last log line (all invocations): {(times[-1] - times[0]) / 60:.1f} min")
    if lsd:
        print(f"- last validation: step {lsd[-1][0]}, LSD {lsd[-1][1]:.3f}, loss {lsd[-1][2]:.4f}")
    print(f"- wrote {args.out}")


if __name__ == "__main__":
    main()
