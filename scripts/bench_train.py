"""Training throughput (segments per second) of the default model on this machine.

    python scripts/bench_train.py                  # 30 optimizer steps, batch 16, 0.75 s segments
    python scripts/bench_train.py --steps 50 --batch-size 32 --workers 4

Trains on a generated corpus (harmonic tones and noise, 48 kHz) in a temporary folder; the first steps (start-up,
cache) are excluded from the rate. On a GPU machine run it through `accelerate launch` to time many GPUs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from nuwave.benchmark.tables import markdown_table


def logged_speed(metrics: Path) -> float:
    """The last training speed (segments/s, cumulative since the first steps) a run wrote to its
    `metrics.jsonl`, or NaN where it logged none."""
    speeds = [row["speed/segments_per_s"] for row in map(json.loads, metrics.read_text().splitlines())
              if "speed/segments_per_s" in row]
    return speeds[-1] if speeds else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mixed-precision", default="no")
    args = parser.parse_args()

    from nuwave.training.config import TrainConfig
    from nuwave.training.loop import train

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "data").mkdir()
        rng = np.random.default_rng(0)
        t = np.arange(48000 * 20) / 48000
        for index in range(4):
            tones = sum(0.1 * np.sin(2 * np.pi * f * (index + 1) * t) for f in (110.0, 440.0, 1750.0, 5200.0))
            sf.write(str(folder / "data" / f"{index}.flac"), tones + 0.02 * rng.standard_normal(t.size), 48000)
        config = TrainConfig(data=[str(folder / "data")], run_dir=str(folder / "run"), batch_size=args.batch_size,
                             max_steps=args.steps, log_every=5, validate_every=10**6, save_every=10**6,
                             num_workers=args.workers, mixed_precision=args.mixed_precision, warmup_steps=5)
        start = time.perf_counter()
        train(config)
        wall = time.perf_counter() - start
        steady = logged_speed(folder / "run" / "metrics.jsonl")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    header = ["device", "batch", "segment", "steps", "wall (s)", "segments/s (cumulative, the run's metrics.jsonl)"]
    row = [device, args.batch_size, f"{config.segment_seconds} s", args.steps, f"{wall:.0f}", f"{steady:.1f}"]
    print("\n".join(markdown_table(header, [row])))


if __name__ == "__main__":
    sys.exit(main())
