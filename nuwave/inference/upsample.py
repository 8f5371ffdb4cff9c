"""Upsampling whole files: cutoff detection, windows in bounded memory, the pipeline, and an atomic write.

The pipeline owns the diffusion and nothing about files; this module owns the journey of one file and nothing
about what is shown to the user (progress goes through a callback). The sampler is the pipeline's scheduler
component; choosing one by name is the command line's business (`nuwave.models.schedule.make_sampler`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soxr
import torch

from nuwave.audio.cutoff import SpectrumAccumulator
from nuwave.audio.dsp import MERGE_HOP, resample
from nuwave.audio.encoder import content_ends_under_cut, encoder_cut
from nuwave.audio.files import AudioError, AudioInfo, atomic_writer, output_format, probe, read_blocks
from nuwave.inference.chunking import ChunkPlan, OverlapAdd, positional_noise
from nuwave.inference.options import DEFAULT_CHANNEL_MODE, DEFAULT_STEPS, DEFAULT_TEMPERATURE, DEFAULT_TOP_HEDGE_DB
from nuwave.inference.pipeline import is_full_band

READ_BLOCK = 1 << 16
MIN_SECONDS = 0.05

# `on_chunks(done, total)`: called as the chunks of a file are done.
ChunkCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class UpsampleSettings:
    """What `nuwave upsample` was asked for (units: Hz, seconds)."""

    target_rate: int = 48000
    num_inference_steps: int = DEFAULT_STEPS
    temperature: float = DEFAULT_TEMPERATURE
    seed: int = 0
    cutoff: float | None = None
    top: float | None = None
    # With no `top`: how far under the model's estimate a rate input's band above 20 kHz is generated
    # (`NuWavePipeline.__call__`'s `top_hedge_db`).
    top_hedge_db: float = DEFAULT_TOP_HEDGE_DB
    channel_mode: str = DEFAULT_CHANNEL_MODE
    # The cutoff is a lossy codec's (`NuWavePipeline.__call__`'s `codec_cut`); None: a file's own format says.
    codec_cut: bool | None = None
    # The band's deterministic part from the input's odd excitation (`NuWavePipeline.__call__`'s `phase_lock`);
    # None: on for a rate's cutoff, off under a codec's.
    phase_lock: bool | None = None
    batch_size: int = 4
    chunk_seconds: float = 10.0
    overlap_seconds: float = 0.5
    subtype: str | None = None


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: the cutoff used (Hz), whether it was detected or given, whether the input
    already had the full band (then it was only resampled), whether the cutoff was taken as a codec's, and where
    the file's encoder would have cut when its content ends under that (`Treatment.encoder_cut`)."""

    info: AudioInfo
    cutoff: float
    detected: bool
    full_band: bool
    windows: int
    codec_cut: bool = False
    encoder_cut: float | None = None


# A recording whose content ends at this or above, under an encoder that would have kept more, holds its own band:
# no reduced sample rate in use reaches it (32 kHz, the highest, ends at 16 kHz); a production low-pass, a
# converter or a microphone ends it (18-20 kHz), and nothing above it was lost. Lower cliffs under a codec stay the
# codec's: an encoder short of bits drops its top band and cuts under its nominal frequency (at 64 kbit/s mono,
# 0.5-1 kHz under it on held-out speech and music), which looks the same.
OWN_BAND_HZ = 18000.0


@dataclass(frozen=True)
class Treatment:
    """How an input's cutoff is taken: as a lossy codec's (`codec_cut`), or as the end of a band that is full
    (`full_band`: resampled only). `encoder_cut`: where the input's encoder would have cut (Hz), when the input's
    content ends from `OWN_BAND_HZ` up but clearly under that (`nuwave.audio.encoder.content_ends_under_cut`):
    the band is then the recording's own, whole."""

    codec_cut: bool
    full_band: bool
    encoder_cut: float | None = None


def treatment(cutoff: float, foot: float, lossy: bool, encoder_cut: float | None, settings: UpsampleSettings,
              model_rate: int) -> Treatment:
    """How to take an input whose cliff has its edge at `cutoff` and its foot at `foot` (Hz): `lossy`: its format is
    a lossy codec's; `encoder_cut`: where its encoder would cut (`nuwave.audio.encoder.encoder_cut`, None:
    unknown). `settings.codec_cut` None decides from these; True or False is the user's word and is kept."""
    full_band = nothing_to_generate(cutoff, settings, model_rate)
    if settings.codec_cut is not None:
        return Treatment(settings.codec_cut and not full_band, full_band)
    if lossy and not full_band and cutoff >= OWN_BAND_HZ and content_ends_under_cut(foot, encoder_cut):
        return Treatment(False, True, encoder_cut)
    return Treatment(lossy and not full_band, full_band)


@dataclass(frozen=True)
class Scan:
    """What one read of a whole input tells: its cutoff in Hz (`nuwave.audio.cutoff`), the RMS of each channel, the
    foot of its cliff in Hz (`nuwave.audio.cutoff.cliff_from_spectrum`) and how many samples it decoded to (a lossy
    file's header only estimates that: an MP3 without a gapless tag may decode a few hundred samples shorter)."""

    cutoff: float
    levels: tuple[float, ...]
    foot: float
    frames: int

    @classmethod
    def of(cls, blocks, sample_rate: int) -> "Scan":
        spectrum = SpectrumAccumulator()
        energy, count = 0.0, 0
        for block in blocks:  # (C, L)
            spectrum.update(block)
            energy = energy + np.square(block, dtype=np.float64).sum(axis=-1)
            count += block.shape[-1]
        levels = tuple(float(x) for x in np.sqrt(np.atleast_1d(energy) / max(count, 1)))
        edge, foot = spectrum.cliff(sample_rate)
        return cls(edge, levels, foot, count)


def scan(info: AudioInfo) -> Scan:
    """Read the file once, checking every sample (`Scan`); its cutoff and the foot of its cliff (Hz)."""
    return Scan.of(read_blocks(info, READ_BLOCK), info.sample_rate)


def check_input(source: Path, settings: UpsampleSettings) -> tuple[AudioInfo, float, bool, Scan]:
    """Probe and scan `source`; returns its info (its length as decoded), the cutoff to use, whether it was
    detected, and its scan."""
    info = probe(source)
    if info.duration < MIN_SECONDS:
        raise AudioError(source, f"too short ({info.frames} samples); at least {MIN_SECONDS * 1000:g} ms is needed")
    nyquist = info.sample_rate / 2
    if settings.cutoff is not None and not 0 < settings.cutoff <= nyquist:
        raise AudioError(source, f"--cutoff {settings.cutoff:g} Hz is above the input's Nyquist {nyquist:g} Hz")
    found = scan(info)
    info = replace(info, frames=found.frames)  # what the file decodes to, for the second read and the output
    if settings.cutoff is not None:
        return info, float(settings.cutoff), False, found
    return info, found.cutoff, True, found


def upsample_file(
    pipe, source: Path, destination: Path, settings: UpsampleSettings, on_chunks: ChunkCallback | None = None
) -> FileResult:
    """Upsample `source` into `destination` (written atomically). Raises `AudioError` for unusable input."""
    source, destination = Path(source), Path(destination)
    if source.resolve() == destination.resolve():
        raise AudioError(source, "the output path is the input path; choose another output")
    output_format(destination, settings.subtype)
    info, cutoff, detected, found = check_input(source, settings)
    asks = info.lossy and settings.codec_cut is None and cutoff >= OWN_BAND_HZ  # only then can the encoder matter
    how = treatment(cutoff, found.foot, info.lossy, encoder_cut(source) if asks else None, settings, pipe.model_rate)
    plan = chunk_plan(pipe, info.frames, info.sample_rate, settings)
    with atomic_writer(destination, settings.target_rate, info.channels, settings.subtype) as write:
        if how.full_band:
            _resample_stream(info, settings.target_rate, write)
        else:
            windows = _read_windows(info, list(plan.windows()))
            generate(pipe, windows, plan, info.channels, cutoff, found.levels, how.codec_cut, settings, write,
                     on_chunks)
    return FileResult(info, cutoff, detected, how.full_band, 0 if how.full_band else len(plan), how.codec_cut,
                      how.encoder_cut)


def upsample_array(
    pipe, audio: np.ndarray, sample_rate: int, settings: UpsampleSettings, on_chunks: ChunkCallback | None = None,
    lossy: bool = False, encoder_cut: float | None = None,
) -> tuple[np.ndarray, float]:
    """The same journey as `upsample_file` for audio in memory, `(C, T)` -> `(C, T')`; returns the cutoff used.
    `lossy`, `encoder_cut`: what `upsample_file` reads from a file's format (`treatment`)."""
    audio = np.asarray(audio, dtype=np.float32)
    found = Scan.of([audio], sample_rate)
    cutoff = found.cutoff if settings.cutoff is None else float(settings.cutoff)
    length = round(audio.shape[-1] * settings.target_rate / sample_rate)
    how = treatment(cutoff, found.foot, lossy, encoder_cut, settings, pipe.model_rate)
    if how.full_band:
        return resample(audio, sample_rate, settings.target_rate, length), cutoff
    plan = chunk_plan(pipe, audio.shape[-1], sample_rate, settings)
    pieces: list[np.ndarray] = []
    windows = ((start, audio[:, start:end]) for start, end in plan.windows())
    generate(pipe, windows, plan, audio.shape[0], cutoff, found.levels, how.codec_cut, settings,
             pieces.append, on_chunks)
    return np.concatenate(pieces, axis=-1), cutoff


def nothing_to_generate(cutoff: float, settings: UpsampleSettings, model_rate: int) -> bool:
    """A full-band input, or one whose content already reaches the `--top` the user gave."""
    return is_full_band(cutoff, settings.target_rate, model_rate) or (settings.top is not None
                                                                         and settings.top <= cutoff)


def chunk_plan(pipe, frames: int, sample_rate: int, settings: UpsampleSettings) -> ChunkPlan:
    """Windows aligned to whole samples at every rate and to whole STFT frames of the model and the merge."""
    return ChunkPlan.create(
        frames, sample_rate, (pipe.model_rate, settings.target_rate), settings.chunk_seconds,
        settings.overlap_seconds, model_rate=pipe.model_rate,
        model_frame=math.lcm(pipe.denoiser.config.hop_length, MERGE_HOP),
    )


def generate(
    pipe,
    windows: Iterator[tuple[int, np.ndarray]],
    plan: ChunkPlan,
    channels: int,
    cutoff: float,
    levels: tuple[float, ...],
    codec_cut: bool,
    settings: UpsampleSettings,
    write: Callable[[np.ndarray], None],
    on_chunks: ChunkCallback | None = None,
) -> None:
    """Run the pipeline over `(start, (C, L))` windows in batches and pass the joined output to `write`. `levels`:
    the RMS of each of the recording's channels; `codec_cut`: the cutoff is a lossy codec's."""
    joiner = OverlapAdd(plan.at_rate(plan.overlap, settings.target_rate))
    noise_channels = 1 if settings.channel_mode == "shared" else channels
    batch: list[tuple[int, np.ndarray]] = []
    done = 0

    def flush(last: bool) -> None:
        nonlocal done
        length = batch[0][1].shape[-1]
        model_length = round(length * pipe.model_rate / plan.input_rate)
        noise = torch.stack(
            [positional_noise(settings.seed, plan.at_rate(start, pipe.model_rate), model_length, noise_channels)
             for start, _ in batch]
        )
        result = pipe(
            np.stack([audio for _, audio in batch]),
            plan.input_rate,
            target_rate=settings.target_rate,
            num_inference_steps=settings.num_inference_steps,
            temperature=settings.temperature,
            cutoff=cutoff,
            top=settings.top,
            top_hedge_db=settings.top_hedge_db,
            noise=noise,
            level=levels,
            channel_mode=settings.channel_mode,
            codec_cut=codec_cut,
            phase_lock=settings.phase_lock,
        ).audios
        for index, window in enumerate(result):
            write(joiner.push(window, last=last and index == len(result) - 1))
        done += len(batch)
        batch.clear()
        if on_chunks is not None:
            on_chunks(done, len(plan))

    for start, audio in windows:
        if batch and (len(batch) == settings.batch_size or batch[0][1].shape[-1] != audio.shape[-1]):
            flush(last=False)
        batch.append((start, audio))
    flush(last=True)


def _read_windows(info: AudioInfo, windows: list[tuple[int, int]]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(start, (C, end - start))` for each window, reading the file once and holding one window or so."""
    blocks = read_blocks(info, READ_BLOCK)
    buffer = np.zeros((info.channels, 0), np.float32)
    buffer_start = 0
    for start, end in windows:
        while buffer_start + buffer.shape[-1] < end:
            block = next(blocks, None)
            if block is None:
                raise AudioError(info.path, f"truncated: {buffer_start + buffer.shape[-1]} of {info.frames} samples")
            buffer = np.concatenate([buffer, block], axis=-1)
        buffer = buffer[:, start - buffer_start :]
        buffer_start = start
        yield start, buffer[:, : end - start]
    for _ in blocks:  # read to the end, so a file longer than its header says is noticed
        pass


def _resample_stream(info: AudioInfo, target_rate: int, write) -> None:
    """A full-band input: only resampled (soxr, streaming), to exactly `round(frames * target / rate)` samples."""
    expected = round(info.frames * target_rate / info.sample_rate)
    resampler = soxr.ResampleStream(info.sample_rate, target_rate, info.channels, dtype="float32", quality="VHQ")
    written = 0
    blocks = read_blocks(info, READ_BLOCK)
    block = next(blocks)
    while block is not None:
        following = next(blocks, None)
        out = resampler.resample_chunk(np.ascontiguousarray(block.T), last=following is None).T
        out = out[:, : expected - written]
        written += out.shape[-1]
        write(out)
        block = following
    if written < expected:
        write(np.zeros((info.channels, expected - written), np.float32))
