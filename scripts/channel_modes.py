"""Each channel's SNR against sinc's, by channel mode, on the stereo suite's rate conditions: how much a channel
loses to the way the channels are generated together. Markdown to stdout.

The stereo suite holds real stereo excerpts and probes (`nuwave.corpus.benchmark_sets`): right = -left, and two
unrelated recordings, one per channel, the right one far quieter. A channel generated under another's gain, or
through mid and side that both carry the other, can take errors at the other's level; its SNR then falls under
what the same channel gets in the other modes. The outputs are the benchmark's own (`nuwave.benchmark.evaluate`,
seed 0, the package's defaults but for the channel mode).

    python scripts/channel_modes.py > eval/results/channel_modes.md
"""

from __future__ import annotations

import argparse
import shlex
import sys

import numpy as np
import torch

from nuwave.benchmark import evaluate as benchmark
from nuwave.benchmark.metrics import snr
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.options import CHANNEL_MODES, DEFAULT_MODEL


def channel_snr(audio: np.ndarray, reference: np.ndarray) -> list[float]:
    """The benchmark's SNR (dB) of each channel of `(2, T)` audio against its reference's."""
    return snr(torch.from_numpy(audio), torch.from_numpy(reference)).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    benchmark.add_analysis_options(parser)
    args = parser.parse_args()
    pipe = benchmark.analysis_pipeline(args.model)
    suite = benchmark.Suite.load(benchmark.suite_file("stereo"), args.data)
    rated = benchmark.rate_conditions(suite)
    figures: dict[tuple[str, str, str], list[float]] = {}  # (condition, file, mode) -> SNR - sinc's per channel
    for mode in CHANNEL_MODES:
        outputs = benchmark.outputs_by_file(rated, pipe, args.steps, channel_mode=mode)
        for (condition, name, system), output in outputs.items():
            if system == "nuwave":
                sinc = outputs[condition, name, "sinc"]
                figures[condition, name, mode] = [
                    model - base for model, base in zip(channel_snr(output.audio, output.reference),
                                                        channel_snr(sinc.audio, sinc.reference))]
    conditions = [benchmark.condition_name(c) for c in rated.conditions()]
    names = [path.stem for path in suite.files]
    header = ["condition", "file"] + [f"{mode} ({side})" for mode in CHANNEL_MODES for side in ("left", "right")]
    rows = [[condition, name] + [f"{x:+.2f}" for mode in CHANNEL_MODES for x in figures[condition, name, mode]]
            for condition in conditions for name in names]
    means = [[condition, "mean over files"] + [
        f"{np.mean([figures[condition, name, mode][side] for name in names]):+.2f}"
        for mode in CHANNEL_MODES for side in (0, 1)] for condition in conditions]
    print("Produced by `python scripts/channel_modes.py"
          + (f" --model {shlex.quote(args.model)}" if args.model != DEFAULT_MODEL else "")
          + (f" --steps {args.steps}" if args.steps != 8 else "") + "`\n")
    print(f"SNR - sinc's in dB, each channel of each file of the stereo suite, by `--channel-mode` ({args.steps} "
          "steps, seed 0). `unrelated_*`: two unrelated recordings, the right one far quieter; `opposite_*`: right = "
          "-left.\n")
    print("\n".join(markdown_table(header, means + rows)))


if __name__ == "__main__":
    sys.exit(main())
