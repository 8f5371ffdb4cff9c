"""The README's listening figure: spectrograms of reference, input, sinc and nuwave for one held-out speech
excerpt (16 kHz input, 48 kHz output) and one held-out music excerpt (22.05 kHz input, 44.1 kHz output).

    python scripts/readme_figure.py --data data --model checkpoints/nuwave-base -o eval/results/readme_figure.png

The speech excerpt is the speech example's material (the first files of data/speech_benchmark.txt, joined);
the music one the first openttd-openmsx excerpt of data/music_benchmark.txt. Standard degradation, 8 steps,
the model's own sampler (dpmsolver++), seed 0, at the default temperature and at temperature 1 (the full sample).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_examples import first, joined  # noqa: E402

from nuwave.audio.degrade import Degradation, resample_poly  # noqa: E402
from nuwave.audio.dsp import resample_band_limited  # noqa: E402
from nuwave.audio.files import read_audio  # noqa: E402
from nuwave.benchmark.figures import pyplot, spectrogram  # noqa: E402
from nuwave.inference.loading import load_pipeline  # noqa: E402
from nuwave.inference.options import DEFAULT_MODEL, DEFAULT_TEMPERATURE  # noqa: E402
from nuwave.inference.upsample import UpsampleSettings, upsample_array  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--temperatures", default=f"{DEFAULT_TEMPERATURE:g},1")
    parser.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    pipe = load_pipeline(args.model, "cpu")
    pipe.set_progress_bar_config(disable=True)
    plt = pyplot()
    speech, _ = joined(args.data / "speech_benchmark.txt", 48000, resample_band_limited)
    music, music_rate = read_audio(first(args.data / "music_benchmark.txt", "excerpts/audio/openttd-openmsx/"))
    rows = [("speech, 16 kHz -> 48 kHz", speech[0], 48000, 16000),
            ("music, 22.05 kHz -> 44.1 kHz", music.mean(axis=0), music_rate, 22050)]
    temperatures = [float(item) for item in args.temperatures.split(",")]
    columns = ["reference", "input, at its own rate", "sinc"] + [
        f"nuwave, {args.steps} steps, temperature {temperature:g}" for temperature in temperatures]
    figure, axes = plt.subplots(len(rows), len(columns), figsize=(4 * len(columns), 6.4), squeeze=False)
    for row, (title, reference, rate, low_rate) in enumerate(rows):
        low, _ = Degradation("standard", low_rate).apply(reference, rate)
        sinc = resample_poly(low, low_rate, rate, reference.size)
        models = [upsample_array(pipe, low[None], low_rate, UpsampleSettings(
            target_rate=rate, num_inference_steps=args.steps, temperature=temperature, cutoff=low_rate / 2))[0][0]
            for temperature in temperatures]
        shown = [(reference, rate), (low, low_rate), (sinc, rate)] + [(model, rate) for model in models]
        for col, (name, (audio, audio_rate)) in enumerate(zip(columns, shown)):
            spectrogram(axes[row][col], audio, audio_rate, f"{title}: {name}" if col == 0 else name)
            axes[row][col].set_ylim(0, rate / 2000)
    figure.suptitle(f"held-out test split; python scripts/readme_figure.py --model {args.model}", fontsize=9)
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
