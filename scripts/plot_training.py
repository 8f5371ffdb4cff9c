"""Plot a training run's curves from its `metrics.jsonl`: diffusion loss and validation LSD against steps.

    python scripts/plot_training.py runs/nuwave-base -o eval/results/training_curve.png

Prints the run's summary (steps, wall time, last validation) as a Markdown list too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(run_dir: Path) -> dict[int, dict]:
    """One record per step (a resumed run may log a step twice: the later line wins)."""
    steps: dict[int, dict] = {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        steps.setdefault(record["step"], {}).update(record)
    return dict(sorted(steps.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    records = load(args.run_dir)
    loss = [(s, r["loss/diffusion"]) for s, r in records.items() if "loss/diffusion" in r]
    lsd = [(s, r["val/lsd"]) for s, r in records.items() if "val/lsd" in r]
    val_loss = [(s, r["val/loss"]) for s, r in records.items() if "val/loss" in r]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    envelope = [(s, r["loss/envelope"]) for s, r in records.items() if "loss/envelope" in r]
    left.plot(*zip(*loss), lw=0.8, label="training: v-prediction MSE (per log interval)")
    if envelope:
        left.plot(*zip(*envelope), lw=0.8, label="training: envelope error (bels)")
    if val_loss:
        label = "validation: MSE + 0.5 x envelope (EMA weights)" if envelope else "validation (EMA weights)"
        left.plot(*zip(*val_loss), "o-", label=label)
    left.set(xlabel="optimizer step", ylabel="loss", yscale="log", title="training losses")
    left.legend()
    if lsd:
        right.plot(*zip(*lsd), "o-", color="C2")
    right.set(xlabel="optimizer step", ylabel="LSD", title="validation LSD (EMA weights)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(f"{args.run_dir.name}: python scripts/plot_training.py {args.run_dir} -o {args.out}", fontsize=8)
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    times = [r["time"] for r in records.values()]
    config = json.loads((args.run_dir / "config.json").read_text())
    print(f"- steps logged: {max(records)} of {config['max_steps']}")
    print(f"- wall time between first and last log line (all invocations): {(times[-1] - times[0]) / 60:.1f} min")
    if lsd:
        print(f"- last validation: step {lsd[-1][0]}, LSD {lsd[-1][1]:.3f}, loss {val_loss[-1][1]:.4f}")
    print(f"- wrote {args.out}")


if __name__ == "__main__":
    main()
