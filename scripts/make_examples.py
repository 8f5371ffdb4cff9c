"""Build the example inputs in `examples/` from the corpus's held-out benchmark sets (never trained on).

    python scripts/prepare_data.py --out data        # the corpus first
    python scripts/make_examples.py --data data --out examples

speech_16k.flac: the first files of data/speech_benchmark.txt joined (48 kHz, 0.25 s apart, up to 8 s), degraded
as the benchmark's standard protocol (Chebyshev I low-pass, polyphase down to 16 kHz). music_22k.flac: the first
openttd-openmsx excerpt of data/music_benchmark.txt down to 22.05 kHz the same way. music_128k.mp3: the same
excerpt at 44.1 kHz through a 128 kbit/s MP3 encoder (the top band cut, the container rate full). Sources and
licences go to examples/README.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from nuwave.audio.degrade import Degradation, encode, mp3_level
from nuwave.audio.dsp import resample
from nuwave.audio.files import read_audio
from nuwave.corpus.benchmark_sets import benchmark_source

MAX_SECONDS = 8.0


def joined(listing: Path, rate: int = 48000, resampler=resample) -> tuple[np.ndarray, list[Path]]:
    """The listed files one after another at `rate` (mono, 0.25 s of silence between), up to MAX_SECONDS, each
    brought there by `resampler` (the examples' inputs: soxr, as they were made; a reference to show:
    `resample_band_limited`, which keeps a 44.1 kHz file's band to 22.05 kHz)."""
    parts, used = [], []
    for line in listing.read_text().split():
        audio, source_rate = read_audio(listing.parent / line)
        parts += [resampler(audio.mean(axis=0), source_rate, rate), np.zeros(rate // 4, np.float32)]
        used.append(listing.parent / line)
        if sum(p.size for p in parts) >= MAX_SECONDS * rate:
            break
    return np.concatenate(parts)[None, : int(MAX_SECONDS * rate)], used


def first(listing: Path, prefix: str = "") -> Path:
    lines = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    return next(listing.parent / line for line in lines if line.startswith(prefix))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=Path("examples"))
    args = parser.parse_args()
    manifest = {json.loads(line)["path"]: json.loads(line) for line in (args.data / "manifest.jsonl").open()}
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    speech_audio, speech_files = joined(args.data / "speech_benchmark.txt")
    music = first(args.data / "music_benchmark.txt", "excerpts/audio/openttd-openmsx/")
    music_audio, music_rate = read_audio(music)
    for name, sources, audio, source_rate, rate in (
            ("speech_16k.flac", speech_files, speech_audio, 48000, 16000),
            ("music_22k.flac", [music], music_audio, music_rate, 22050),
            ("music_128k.mp3", [music], music_audio, music_rate, None)):
        audio = audio[:, : int(MAX_SECONDS * source_rate)]
        if rate is None:
            (args.out / name).write_bytes(encode(audio, source_rate, "mp3", mp3_level(128), constant=True))
        else:
            low, low_rate = Degradation("standard", rate).apply(audio, source_rate)
            sf.write(str(args.out / name), np.clip(low.T, -1, 1), low_rate, subtype="PCM_16")
        for source in sources:
            relative = str(source.relative_to(args.data))
            entry = manifest[benchmark_source(relative)]
            rows.append(f"| `{name}` | `{relative}` | {entry['package']} | {entry['licence']} |")
    (args.out / "README.md").write_text(
        "# Example inputs\n\nBand-limited versions of held-out corpus files (test split, never trained on), made by\n"
        "`python scripts/make_examples.py --data data --out examples` (see its docstring for the degradations).\n\n"
        "| file | made from (corpus path) | Debian package | licence |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
