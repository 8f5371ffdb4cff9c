"""Wall time, real-time factor and peak memory of `nuwave upsample` as files grow.

    python scripts/bench_upsample.py                       # 10 s, 60 s, 600 s at 8 steps; memory at 30 s and 1800 s
    python scripts/bench_upsample.py --model checkpoints/X --durations 10,60 --memory-durations ""

Each run is a separate `nuwave upsample` process (16 kHz mono input, 48 kHz output, CPU), so peak RSS is that
process's own. Without --model a default-config model with random weights is built: the cost of sampling does
not depend on the weights. The memory rows use 1 step, since memory does not depend on the step count.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from nuwave.benchmark.tables import markdown_table


def make_input(path: Path, seconds: float, rate: int = 16000) -> None:
    """Band-limited noise with a slow envelope, written in blocks (no hour-long array in this process)."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as handle:
        remaining = int(seconds * rate)
        while remaining:
            count = min(remaining, rate * 10)
            envelope = 0.5 + 0.4 * np.sin(np.arange(count) / rate * 2 * np.pi * 0.3)
            handle.write((0.1 * envelope * rng.standard_normal(count)).astype(np.float32))
            remaining -= count


def run(source: Path, model: Path, steps: int, threads: int | None) -> tuple[float, float]:
    """Run the CLI once; returns (wall seconds, peak RSS in MiB)."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, "-m", "nuwave.cli", "upsample", str(source), "-o", str(source.with_suffix(".out.wav")),
               "--model", str(model), "--steps", str(steps), "--device", "cpu", "--overwrite", "--quiet"]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"nuwave upsample failed on {source}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a save_pretrained folder (default: a random default model)")
    parser.add_argument("--durations", default="10,60,600", help="seconds, timed at --steps")
    parser.add_argument("--memory-durations", default="30,1800", help="seconds, peak memory at 1 step")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model = args.model
        if model is None:
            from nuwave.inference.pipeline import NuWavePipeline
            from nuwave.models import NuWaveDenoiser
            from nuwave.models.schedule import make_sampler

            model = folder / "model"
            NuWavePipeline(denoiser=NuWaveDenoiser(), scheduler=make_sampler()).save_pretrained(model)

        rows = []
        parse = lambda text: [float(x) for x in text.split(",") if x.strip()]
        runs = [(s, args.steps) for s in parse(args.durations)] + [(s, 1) for s in parse(args.memory_durations)]
        for seconds, steps in runs:
            source = folder / f"in_{seconds:g}s.wav"
            make_input(source, seconds)
            wall, rss = run(source, model, steps, args.threads)
            rows.append((seconds, steps, wall, wall / seconds, rss))
            source.with_suffix(".out.wav").unlink()
            source.unlink()
            print(f"  {seconds:g} s at {steps} steps: {wall:.1f} s, peak {rss:.0f} MiB", file=sys.stderr, flush=True)

    print("Produced by `python scripts/bench_upsample.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "`")
    print()
    print(f"16 kHz mono -> 48 kHz, CPU, {os.cpu_count()} cores, whole `nuwave upsample` process (load included)")
    print()
    cells = [[f"{seconds:g} s", steps, f"{wall:.1f}", f"{rtf:.3f}", f"{rss:.0f}"]
             for seconds, steps, wall, rtf, rss in rows]
    print("\n".join(markdown_table(["input", "steps", "wall time (s)", "real-time factor", "peak RSS (MiB)"], cells)))


if __name__ == "__main__":
    main()
