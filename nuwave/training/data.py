"""Training data: an index of source files, a split by file, a cache at the model rate, and random segments.

Stereo files give one example per channel (`stereo="channels"`, the default: twice the material, and each
channel is a real recording) or their mix (`stereo="mix"`). Every segment is a pure function of
(seed, index), so a resumed run sees exactly the data an uninterrupted one would, whatever the worker count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nuwave.audio.degrade import DegradationRange, random_degradation, random_tilt
from nuwave.audio.dsp import coloured_noise, resample, resample_band_limited, resample_sharp
from nuwave.audio.files import READ_EXTENSIONS, read_audio

SILENCE_TRIES = 10
# Pauses drawn into a segment (`with_pauses`): how many, how long, how long their fades (seconds), and the level
# of the room tone under a recording (dBFS).
PAUSES = (1, 3)
PAUSE_SECONDS = (0.05, 0.4)
FADE_SECONDS = (0.002, 0.04)
ROOM_TONE_DB = (-90.0, -55.0)


def with_pauses(audio: np.ndarray, sample_rate: int, content_hz: float, rng: np.random.Generator) -> np.ndarray:
    """`(T,)` with 1-3 pauses: the recording faded out and back in (raised-cosine fades of 2-40 ms), a pause of
    50-400 ms that may run off either end of the segment. Half the time the pauses are digital silence; else a
    room tone lies under the whole segment (noise falling 0-2 powers of ten per decade, up to the file's content
    only, at -90 to -55 dBFS), so a pause holds that room tone alone. Real recordings have both: the model must
    learn that a pause in the input is a pause in every band."""
    length = audio.size
    gate = np.ones(length, np.float32)
    for _ in range(int(rng.integers(PAUSES[0], PAUSES[1] + 1))):
        width = int(rng.uniform(*PAUSE_SECONDS) * sample_rate)
        fade = max(1, int(rng.uniform(*FADE_SECONDS) * sample_rate))
        start = int(rng.integers(-width // 2, length))
        ramp = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / fade)  # 1 -> 0
        shape = np.concatenate([ramp, np.zeros(width, np.float32), ramp[::-1]])
        positions = np.arange(start - fade, start + width + fade)
        inside = (positions >= 0) & (positions < length)
        gate[positions[inside]] = np.minimum(gate[positions[inside]], shape[inside])
    out = audio * gate
    if rng.random() < 0.5:
        white = rng.standard_normal(length)
        slope = rng.uniform(0.0, 2.0)
        out = out + coloured_noise(white, sample_rate, slope, content_hz, 10 ** (rng.uniform(*ROOM_TONE_DB) / 20))
    return out.astype(np.float32)


@dataclass(frozen=True)
class SourceFile:
    """A training file, the frequency (Hz) up to which its content is trusted (None: its Nyquist), which
    `--data` entry it came from, and whether it is lossless (a manifest says so): a lossless file's emptiness
    above its own Nyquist frequency is part of the recording, so the model is also taught to leave that band
    empty rather than fill it with whatever costs it nothing."""

    path: str
    trusted_hz: float | None = None
    entry: int = 0
    lossless: bool = False


def index_sources(entries: list[str]) -> list[SourceFile]:
    """Audio files of folders (recursively) and manifests.

    A manifest is a `.txt` (one path a line) or `.jsonl` (objects with `path` and optionally `trusted_hz` and
    `lossless`) file; paths are relative to it.
    """
    files: list[SourceFile] = []
    for number, entry in enumerate(map(Path, entries)):
        if entry.is_dir():
            files += [SourceFile(str(p), None, number) for p in sorted(entry.rglob("*"))
                      if p.suffix.lower() in READ_EXTENSIONS]
        elif entry.suffix == ".jsonl":
            for line in entry.read_text().splitlines():
                if line.strip():
                    item = json.loads(line)
                    path = str((entry.parent / item["path"]).resolve())
                    files.append(SourceFile(path, item.get("trusted_hz"), number, bool(item.get("lossless", False))))
        elif entry.suffix == ".txt":
            lines = [line.strip() for line in entry.read_text().splitlines()]
            files += [SourceFile(str((entry.parent / line).resolve()), None, number)
                      for line in lines if line and line[0] != "#"]
        elif entry.is_file():
            files.append(SourceFile(str(entry), None, number))
        else:
            raise FileNotFoundError(f"{entry}: no such folder, manifest or file")
    if not files:
        raise ValueError("no audio files found in " + ", ".join(entries))
    return files


def split_files(files: list[SourceFile], fraction: float, seed: int) -> tuple[list[SourceFile], list[SourceFile]]:
    """A deterministic train / validation split by whole file (never by segment, so nothing leaks).

    A file is held out when a hash of (seed, its name) falls below `fraction`; at least one file is held out
    when there are two or more and `fraction` > 0.
    """
    def score(source: SourceFile) -> float:
        digest = hashlib.sha256(f"{seed}:{Path(source.path).name}:{source.path}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    ranked = sorted(files, key=score)
    count = int(round(fraction * len(files)))
    if fraction > 0 and len(files) >= 2:
        count = max(count, 1)
    held = {s.path for s in ranked[:count]}
    return [s for s in files if s.path not in held], [s for s in files if s.path in held]


class AudioCache:
    """Decodes each file once, resamples it to the model rate, and keeps it as a `.npy` in `folder`.

    `resampler` (`TrainConfig.target_resampler`): "soxr", flat only to 93% of the source's Nyquist frequency,
    "sharp" (`resample_sharp`, flat to 97.5%, with images above it at -7 to -80 dB) or "band-limited"
    (`resample_band_limited`: the whole band to the source's Nyquist frequency and nothing above, as the benchmark
    brings its references to the output's rate). Through soxr a 44.1 kHz recording reaches the model empty from
    about 20.5 kHz, and since a lossless file's band is trusted to the model's Nyquist frequency, a model trained so
    learns that such recordings stop there, 1.5 kHz under where they do (`eval/results/envelope_sharp.md`)."""

    RESAMPLERS = {"soxr": resample, "sharp": resample_sharp, "band-limited": resample_band_limited}

    def __init__(self, folder: Path, sample_rate: int, stereo: str, resampler: str = "soxr") -> None:
        if resampler not in self.RESAMPLERS:
            raise ValueError(f"unknown resampler {resampler!r}; choose one of {', '.join(self.RESAMPLERS)}")
        self.folder, self.sample_rate, self.stereo, self.resampler = Path(folder), sample_rate, stereo, resampler
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, source: SourceFile) -> Path:
        stat = Path(source.path).stat()
        key = f"{Path(source.path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{self.sample_rate}:{self.stereo}"
        if self.resampler != "soxr":  # a soxr cache keeps the keys it had before there was a choice
            key += f":{self.resampler}"
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".npy")

    def prepare(self, source: SourceFile) -> tuple[Path, int]:
        """Cache `source` if it is not cached yet; returns the cache file and the source's own sample rate."""
        target = self.path_for(source)
        meta = target.with_suffix(".json")
        if not (target.exists() and meta.exists()):
            audio, rate = read_audio(source.path)
            if self.stereo == "mix":
                audio = audio.mean(axis=0, keepdims=True)
            audio = self.RESAMPLERS[self.resampler](audio, rate, self.sample_rate)
            temporary = target.with_suffix(".tmp.npy")
            np.save(temporary, audio.astype(np.float32))
            temporary.replace(target)
            meta.write_text(json.dumps({"rate": rate, "source": source.path}))
        return target, json.loads(meta.read_text())["rate"]


@dataclass(frozen=True)
class CachedFile:
    """`content_hz`: how far up the content goes (degradation cutoffs stay below it); `trusted_hz`: how far up
    the loss counts (`SourceFile` says why a lossless file's is the model's Nyquist frequency)."""

    path: Path
    channels: int
    frames: int
    content_hz: float
    trusted_hz: float
    entry: int = 0


def prepare_files(sources: list[SourceFile], cache: AudioCache) -> list[CachedFile]:
    cached = []
    for source in sources:
        path, rate = cache.prepare(source)
        array = np.load(path, mmap_mode="r")
        content = min(source.trusted_hz or rate / 2, rate / 2, cache.sample_rate / 2)
        trusted = cache.sample_rate / 2 if source.lossless else content
        cached.append(CachedFile(path, array.shape[0], array.shape[1], content, trusted, source.entry))
    return cached


class SegmentDataset(torch.utils.data.Dataset):
    """Item `i` is a random segment of a random file, degraded at random, all drawn from
    `numpy.random.default_rng((seed, i))`. A file's chance is proportional to its length (`balance="length"`),
    or to its length within its `--data` entry with every entry an equal share (`balance="entries"`: e.g. as
    much speech as music from one speech and one music manifest). With `tilt_db_per_octave`, each segment first
    goes through a random spectral tilt up to that slope (`nuwave.audio.degrade.random_tilt`).

    Returns a dict: `target` and `cond` `(1, T)` float32 at the model rate, `bandwidth` (the condition's cutoff
    over the Nyquist frequency), `trusted` (the target's trusted bandwidth over the Nyquist frequency) and
    `index`.
    """

    def __init__(self, files: list[CachedFile], sample_rate: int, segment: int, length: int, seed: int,
                 ranges: DegradationRange, silence_db: float, gain_db: float, balance: str = "length",
                 pause_probability: float = 0.0, tilt_db_per_octave: float = 0.0) -> None:
        self.files, self.sample_rate, self.segment, self.length, self.seed = files, sample_rate, segment, length, seed
        self.ranges, self.silence_rms, self.gain_db = ranges, 10 ** (silence_db / 20), gain_db
        self.pause_probability, self.tilt_db_per_octave = pause_probability, tilt_db_per_octave
        weights = np.array([f.frames * f.channels for f in files], dtype=np.float64)
        if balance == "entries":
            entries = np.array([f.entry for f in files])
            for entry in np.unique(entries):
                weights[entries == entry] /= weights[entries == entry].sum()
        self.cumulative = np.cumsum(weights / weights.sum())
        self._arrays: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return self.length

    def _array(self, path: Path) -> np.ndarray:
        if path not in self._arrays:  # opened lazily, in each worker process
            self._arrays[path] = np.load(path, mmap_mode="r")
        return self._arrays[path]

    def _segment(self, rng: np.random.Generator) -> tuple[np.ndarray, CachedFile]:
        for _ in range(SILENCE_TRIES):
            file = self.files[min(int(np.searchsorted(self.cumulative, rng.random())), len(self.files) - 1)]
            # A stereo file gives its left, right, mid or side channel (the pipeline generates stereo as mid and
            # side); other files one of their channels.
            channel = int(rng.integers(4 if file.channels == 2 else file.channels))
            start = int(rng.integers(max(1, file.frames - self.segment + 1)))
            window = self._array(file.path)[:, start : start + self.segment]
            if channel < 2 or file.channels != 2:
                audio = np.array(window[channel], dtype=np.float32)
            else:
                audio = ((window[0] + (1.0 if channel == 2 else -1.0) * window[1]) * np.sqrt(0.5)).astype(np.float32)
            if audio.size < self.segment:
                audio = np.pad(audio, (0, self.segment - audio.size))
            if np.sqrt(np.mean(audio**2)) >= self.silence_rms:
                break
        return audio, file

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng((self.seed, index))
        target, file = self._segment(rng)
        if self.tilt_db_per_octave > 0:  # drawn only when asked, so runs without it draw as before
            target = random_tilt(target, self.sample_rate, rng, self.tilt_db_per_octave)
        if rng.random() < self.pause_probability:
            target = with_pauses(target, self.sample_rate, file.content_hz, rng)
        target = target * 10 ** (rng.uniform(self.gain_db, 0.0) / 20)
        peak = np.abs(target).max()
        if peak > 0.99:
            target = target * (0.99 / peak)
        nyquist = self.sample_rate / 2
        ranges = DegradationRange(self.ranges.min_cutoff_hz, min(self.ranges.max_cutoff_hz, 0.95 * file.content_hz),
                                  self.ranges.codec_probability, self.ranges.resample_probability)
        cond, cutoff = random_degradation(target, self.sample_rate, rng, ranges)
        return {
            "target": torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))[None],
            "cond": torch.from_numpy(np.ascontiguousarray(cond, dtype=np.float32))[None],
            "bandwidth": torch.tensor(cutoff / nyquist, dtype=torch.float32),
            "trusted": torch.tensor(file.trusted_hz / nyquist, dtype=torch.float32),
            "index": torch.tensor(index),
        }
