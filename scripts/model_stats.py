"""Print the denoiser's parameter count, multiply-accumulates per second of audio per model evaluation, the
CPU wall time of one evaluation on one second of audio and, for a model folder, its size on disk (every file the
pipeline loads: denoiser, phase readout, scheduler and configs) and the phase readout's parameter count.

    python scripts/model_stats.py                       # the default config
    python scripts/model_stats.py --model checkpoints/X # a save_pretrained pipeline folder
    python scripts/model_stats.py --set channels=384 --set num_blocks=6

MACs are counted by torch's FlopCounterMode over the matrix products and convolutions (FLOPs / 2); the STFT and
inverse STFT (O(T log n_fft), well under 1% here) are not counted. An evaluation is timed as the sampler runs it:
with the condition's share of the input projection computed once per sampling (`encode_condition`), as is the
envelope of a model with an envelope predictor; their costs are given apart and included in the implied real-time
factor.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from nuwave import checkpoints
from nuwave.benchmark.tables import markdown_table
from nuwave.models import NuWaveDenoiser


def load_denoiser(model: str | None, overrides: list[str]) -> NuWaveDenoiser:
    if model:
        return NuWaveDenoiser.from_pretrained(model, subfolder="denoiser")
    config = {key: int(value) for key, value in (item.split("=", 1) for item in overrides)}
    return NuWaveDenoiser(**config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a save_pretrained pipeline folder (default: a fresh default config)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=INT", help="override a config value")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    denoiser = load_denoiser(args.model, args.set).eval()
    rate = denoiser.config.sample_rate
    noisy = torch.randn(1, 1, rate)
    cond = torch.randn(1, 1, rate)
    band, timestep = torch.tensor([1 / 3]), torch.tensor([500])
    params = sum(p.numel() for p in denoiser.parameters())

    def timed(function) -> tuple[float, float]:
        """MACs and the median CPU wall time of `function()`."""
        with torch.no_grad():
            with FlopCounterMode(display=False) as counter:
                function()
            function()  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                function()
                times.append(time.perf_counter() - start)
        return counter.get_total_flops() / 2, statistics.median(times)

    with torch.no_grad():
        encoded = denoiser.encode_condition(cond)
    macs, median = timed(lambda: denoiser(noisy, cond, band, timestep, encoded))
    condition_macs, condition_time = timed(lambda: denoiser.encode_condition(cond))
    envelope_macs = envelope_time = 0.0
    if denoiser.envelope is not None:
        envelope_macs, envelope_time = timed(lambda: denoiser.predict_envelope(cond, band))
    rows = [
        ["config", ", ".join(f"{k}={v}" for k, v in denoiser.config.items() if not k.startswith("_"))],
        ["parameters", f"{params:,}"],
        ["MACs per second of audio, one evaluation", f"{macs / 1e9:.3f} G"],
        ["CPU threads", torch.get_num_threads()],
        [f"CPU wall time, one evaluation on 1 s of audio (median of {args.repeats})", f"{median * 1000:.1f} ms"],
        ["condition encoding, once per sampling: MACs per second of audio", f"{condition_macs / 1e9:.3f} G"],
        [f"condition encoding, CPU wall time on 1 s of audio (median of {args.repeats})",
         f"{condition_time * 1000:.1f} ms"],
    ]
    if denoiser.envelope is not None:
        rows += [["envelope predictor, once per sampling: MACs per second of audio", f"{envelope_macs / 1e9:.3f} G"],
                 [f"envelope predictor, CPU wall time on 1 s of audio (median of {args.repeats})",
                  f"{envelope_time * 1000:.1f} ms"]]
    implied = 8 * median + condition_time + envelope_time
    rows.append(["implied real-time factor at 8 steps (model only)", f"{implied:.3f}"])
    if args.model:
        rows += folder_rows(Path(checkpoints.resolve(args.model)))
    print("\n".join(markdown_table(["quantity", "value"], rows)))


def folder_rows(folder: Path) -> list[list[str]]:
    """The model folder's size on disk (its model card left out: documentation, not weights) and the phase
    readout's parameters, where it has one."""
    files = [path for path in folder.rglob("*") if path.is_file() and path.name != "README.md"]
    rows = [["model folder on disk (every file but the model card)",
             f"{sum(path.stat().st_size for path in files) / 1e6:.1f} MB in {len(files)} files"]]
    readout = folder / "phase_readout"
    if readout.is_dir():
        from nuwave.models.readout import PhaseReadout

        params = sum(p.numel() for p in PhaseReadout.from_pretrained(readout).parameters())
        rows.append(["phase readout parameters (run once per sampling, not counted above)", f"{params:,}"])
    return rows


if __name__ == "__main__":
    main()
