"""Benchmark sets that look like what users upsample, made from the held-out lossless files of the corpus.

The plain sets (`benchmark_set`: `{speech,music}_benchmark.txt`) are held-out lossless files whose content reaches
`MIN_REFERENCE_TOP_HZ` (`reference_worthy`: a lossy reference has no trustworthy top band, and a reference whose
content ends at 12-17 kHz, by a cliff or a gentle roll-off, holds nothing of the band a benchmark measures),
within a duration budget per source that a full sweep (every setting, 1-32 steps, 3 seeds) can afford on a 2-core
CPU; files longer than `EXCERPT_SECONDS` give one excerpt from a third of the way in
(a fixed rule, never chosen by listening). They are single utterances and short mono excerpts. Users bring more:
speech with real pauses (digital silence between takes, or the room tone of the studio), recordings whose content
ends at 19-20 kHz (an ADC's or a microphone's roll-off) as well as at 22 kHz, and stereo. So:

- **speech-pauses** (48 kHz): held-out utterances joined, four to a file, with 0.4-1.0 s pauses and a 0.3 s
  lead-in and tail. Files alternate between pauses of digital silence and pauses holding a room tone (noise
  falling 10 dB per decade, at -66 dBFS RMS, under the whole file, up to the content); every other pair of
  files is low-passed at 20 kHz (Chebyshev I, order 10, zero phase), so half the references end at 20 kHz.
- **stereo** (44.1 kHz): real stereo excerpts of the held-out renders and drum recordings (5 s, from a third of
  the way in, each package in turn), and two kinds of probe made from further excerpts' mid and from the
  speech-pauses files: *opposite* (right = -left: the side signal alone) and *unrelated* (two different
  recordings, one per channel).

Recordings at another rate than a set's are brought to it band-limited (`nuwave.audio.dsp.resample_band_limited`:
their whole band to the lower Nyquist frequency, where soxr would end a 44.1 kHz voice's at 20.1 kHz at 48 kHz).
Everything is a fixed function of the corpus (files in the order of a hash of their names, no random draw), so
the sets are the same wherever the recipe is run. `build_sets(folder)` writes every set from the corpus's
`manifest.jsonl`: `folder/{speech,music}_benchmark.txt` (excerpts under `folder/excerpts/`),
`folder/benchmarks/<set>/*.flac` and the manifests `folder/speech_pauses_benchmark.txt` and
`folder/stereo_benchmark.txt`, which the shipped suites (`nuwave/benchmark/suites/`) read.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import numpy as np
import soundfile as sf

from nuwave.audio.degrade import lowpass
from nuwave.audio.dsp import coloured_noise, resample_band_limited
from nuwave.audio.files import read_audio
from nuwave.corpus.recipe import manifest_entries

PAUSE_RATE = 48000
UTTERANCES_PER_FILE = 4
PAUSE_FILES = 8
ROOM_TONE_DBFS = -66.0
ROOM_TONE_SLOPE = 1.0  # power falls as f^-1 (10 dB per decade)
TOP_CUT_HZ = 20000.0
STEREO_RATE = 44100
STEREO_EXCERPTS = 6
# A reference's content must reach this far (Hz, the manifest's `content_hz`): users' recordings end at 19-20 kHz
# (an ADC's or a microphone's roll-off) or 22-24 kHz.
MIN_REFERENCE_TOP_HZ = 19000.0
# The plain sets: seconds per source package, and the length of an excerpt of a longer file.
EVAL_SECONDS_PER_SOURCE = {"speech": 10.0, "music": 5.0}
EXCERPT_SECONDS = 5.0


def name_order(name: str) -> bytes:
    """The fixed order files are taken in: a hash of their names."""
    return hashlib.sha256(("order/" + name).encode()).digest()


def excerpt_path(path: str, start: int) -> str:
    """Where the benchmark excerpt of corpus file `path` starting at frame `start` goes (relative paths)."""
    return str(Path("excerpts") / Path(path).with_name(f"{Path(path).stem}_from{start}.flac"))


def benchmark_source(path: str) -> str:
    """The corpus file (its manifest path) that a benchmark-list path is, or is an excerpt of."""
    match = re.fullmatch(r"excerpts/(.+)_from\d+\.flac", path)
    return f"{match.group(1)}.flac" if match else path


def content_top(entry: dict) -> float:
    """A manifest entry's content top in Hz (`content_hz`; a manifest written before it was recorded has only
    `bandwidth_hz`, the cutoff)."""
    return entry.get("content_hz", entry["bandwidth_hz"])


def reference_worthy(entry: dict) -> bool:
    """Whether a manifest entry can be a benchmark reference: lossless, its content reaching `MIN_REFERENCE_TOP_HZ`."""
    return bool(entry["lossless"]) and content_top(entry) >= MIN_REFERENCE_TOP_HZ


def benchmark_set(folder: Path, entries: list[dict], kind: str) -> list[str]:
    """Paths (relative to `folder`) of the plain benchmark set of one kind: see EVAL_SECONDS_PER_SOURCE."""
    budget = EVAL_SECONDS_PER_SOURCE[kind]
    chosen = []
    held_out = [e for e in entries if e["kind"] == kind and e["split"] == "test" and reference_worthy(e)]
    for package in sorted({e["package"] for e in held_out}):
        used = 0.0
        for entry in sorted((e for e in held_out if e["package"] == package), key=lambda e: name_order(e["path"])):
            seconds = min(entry["seconds"], EXCERPT_SECONDS)
            if used + seconds > budget:
                continue
            path = entry["path"]
            if entry["seconds"] > EXCERPT_SECONDS:
                info = sf.info(str(folder / path))
                start, length = excerpt_span(info.frames, info.samplerate)
                audio, rate = sf.read(str(folder / path), start=start, frames=length, dtype="float32", always_2d=True)
                path = excerpt_path(path, start)
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                write_flac(folder / path, audio, rate)
            chosen.append(path)
            used += seconds
    return chosen


def excerpt_span(frames: int, sample_rate: int) -> tuple[int, int]:
    """(start, length) in frames of the excerpt of a file: `EXCERPT_SECONDS` from a third of the way in (from the
    start of a file no longer than that)."""
    length = int(EXCERPT_SECONDS * sample_rate)
    return (frames // 3 if frames > length else 0), length


def held_out(folder: Path, kind: str) -> list[dict]:
    """The held-out manifest entries of one kind that can be references (`reference_worthy`), in the order of a
    hash of their paths."""
    entries = manifest_entries(folder)
    chosen = [e for e in entries if e["kind"] == kind and e["split"] == "test" and reference_worthy(e)]
    return sorted(chosen, key=lambda e: name_order(e["path"]))


def speech_with_pauses(folder: Path, utterances: list[dict], number: int) -> np.ndarray:
    """One file of the speech-pauses set: `(T,)` at `PAUSE_RATE` (see the module docstring)."""
    pieces = [np.zeros(int(0.3 * PAUSE_RATE), np.float32)]
    top = 0.0
    for index, entry in enumerate(utterances):
        audio, rate = read_audio(folder / entry["path"])
        pieces.append(resample_band_limited(audio.mean(axis=0), rate, PAUSE_RATE))
        top = max(top, min(entry["bandwidth_hz"], rate / 2))
        gap = 0.4 + 0.6 * (name_order(entry["path"])[0] / 255)  # 0.4-1.0 s, fixed per utterance
        pieces.append(np.zeros(int((gap if index < len(utterances) - 1 else 0.3) * PAUSE_RATE), np.float32))
    joined = np.concatenate(pieces)
    if number % 4 >= 2:
        joined = lowpass(joined, PAUSE_RATE, TOP_CUT_HZ, "cheby1", 10, 0.05, zero_phase=True)
        top = min(top, TOP_CUT_HZ)
    if number % 2 == 1:
        white = np.random.default_rng(number).standard_normal(joined.size)
        tone = coloured_noise(white, PAUSE_RATE, ROOM_TONE_SLOPE, top, 10 ** (ROOM_TONE_DBFS / 20))
        joined = joined + tone
    return joined


def excerpt(folder: Path, entry: dict, rate: int) -> np.ndarray:
    """`(C, T)` at `rate`: `EXCERPT_SECONDS` from a third of the way into the file (the whole of a shorter one)."""
    audio, source_rate = read_audio(folder / entry["path"])
    start, length = excerpt_span(audio.shape[-1], source_rate)
    return resample_band_limited(audio[:, start : start + length], source_rate, rate)


def stereo_set(folder: Path, speech: list[np.ndarray]) -> dict[str, np.ndarray]:
    """name -> `(2, T)` at `STEREO_RATE`: real stereo excerpts, taken from each package in turn, then probes
    made from the mid of further excerpts and from `speech` (`(T,)` files at `PAUSE_RATE`): *opposite* (right =
    -left) and *unrelated* (music against other music, and against speech)."""
    by_package: dict[str, list[dict]] = {}
    for entry in held_out(folder, "music"):
        if entry["channels"] == 2 and entry["seconds"] >= 2.0:
            by_package.setdefault(entry["package"], []).append(entry)
    in_turn = [e for group in itertools.zip_longest(*by_package.values()) for e in group if e is not None]
    out = {}
    for entry in in_turn[:STEREO_EXCERPTS]:
        out[f"stereo_{entry['package']}_{name_order(entry['path']).hex()[:8]}"] = excerpt(folder, entry, STEREO_RATE)
    # Further excerpts first; a small corpus lends the probes its stereo excerpts again.
    pool = in_turn[STEREO_EXCERPTS:] + in_turn[:STEREO_EXCERPTS]
    if len(pool) < 3 or not speech:
        return out
    mids = [excerpt(folder, pool[index % len(pool)], STEREO_RATE).mean(axis=0) for index in range(4)]
    voices = [resample_band_limited(speech[index % len(speech)], PAUSE_RATE, STEREO_RATE) for index in range(2)]
    pairs = {"opposite_music": (mids[0], None), "opposite_speech": (voices[0], None),
             "unrelated_music": (mids[1], mids[2]), "unrelated_music_speech": (mids[3], voices[1])}
    for name, (left, right) in pairs.items():
        if right is None:
            out[name] = np.stack([left, -left])
        else:
            length = min(left.size, right.size)
            out[name] = np.stack([left[:length], right[:length]])
    return out


def build_sets(folder: Path) -> dict[str, Path]:
    """Write every set and its manifest under `folder`; returns manifest paths by set name."""
    folder = Path(folder)
    manifests = {}
    entries = manifest_entries(folder)
    for kind in ("speech", "music"):
        manifests[kind] = folder / f"{kind}_benchmark.txt"
        manifests[kind].write_text("".join(path + "\n" for path in benchmark_set(folder, entries, kind)))
    speech = held_out(folder, "speech")
    files = {}
    for number in range(min(PAUSE_FILES, len(speech) // UTTERANCES_PER_FILE)):
        group = speech[number * UTTERANCES_PER_FILE : (number + 1) * UTTERANCES_PER_FILE]
        kind = ("silence" if number % 2 == 0 else "roomtone") + ("_20k" if number % 4 >= 2 else "")
        files[f"pauses_{number}_{kind}"] = (speech_with_pauses(folder, group, number)[None], PAUSE_RATE)
    manifests["speech-pauses"] = _write(folder, "speech_pauses", files)
    voices = [audio[0] for audio, _ in files.values()]
    manifests["stereo"] = _write(folder, "stereo", {k: (v, STEREO_RATE) for k, v in stereo_set(folder, voices).items()})
    return manifests


def write_flac(path: Path, audio: np.ndarray, rate: int) -> None:
    """`(T, C)` audio as a 24-bit FLAC, written under a partial name and renamed into place, so that a reader (a
    benchmark running while the sets are rebuilt) or an interrupted run never meets a half-written file."""
    partial = path.with_suffix(".part.flac")
    sf.write(str(partial), audio, rate, subtype="PCM_24")
    partial.replace(path)


def _write(folder: Path, name: str, files: dict[str, tuple[np.ndarray, int]]) -> Path:
    target = folder / "benchmarks" / name
    target.mkdir(parents=True, exist_ok=True)
    lines = []
    for stem, (audio, rate) in files.items():
        path = target / f"{stem}.flac"
        write_flac(path, np.clip(audio.T, -1.0, 1.0), rate)
        lines.append(str(path.relative_to(folder)))
    manifest = folder / f"{name}_benchmark.txt"
    manifest.write_text("".join(line + "\n" for line in lines))
    return manifest
