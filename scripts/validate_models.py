"""Compare models on a training run's fixed validation segments, with the run's own validation: its loss (the
parts the run trains) at fixed timesteps and noise, and the LSD of a short seeded sampling. Prints a Markdown table.

    python scripts/validate_models.py runs/nuwave-envelope runs/nuwave-base-stage1 runs/nuwave-envelope/export

The segments are rebuilt from the run's config and cache (the split by file is a function of the config), so a
model trained elsewhere, or an earlier stage, is measured on exactly what the run validated on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nuwave.benchmark.tables import markdown_table
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.training.config import TrainConfig
from nuwave.training.loop import validation_segments, validation_values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("models", nargs="+", help="shipped model names or save_pretrained folders")
    parser.add_argument("--segments", type=int, help="segments to draw (default: the run's own validation count); "
                        "the first ones are the run's own")
    args = parser.parse_args()
    overrides = {} if args.segments is None else {"validation_segments": args.segments}
    config = TrainConfig.load(args.run_dir / "config.json", run_dir=str(args.run_dir), **overrides)
    rows = []
    for model in args.models:
        pipe = NuWavePipeline.from_pretrained(model)
        pipe.set_progress_bar_config(disable=True)
        dataset = validation_segments(config, pipe.model_rate)
        values = np.array([validation_values(pipe, dataset, index, config) for index in range(len(dataset))])
        rows.append([model, len(dataset), f"{values[:, 0].mean():.4f}", f"{values[:, 1].mean():.4f}"])
    segments = "" if args.segments is None else f" --segments {args.segments}"
    print(f"Produced by `python scripts/validate_models.py {args.run_dir} {' '.join(args.models)}{segments}`")
    print()
    print("\n".join(markdown_table(["model", "segments", "validation loss", "LSD"], rows)))


if __name__ == "__main__":
    main()
