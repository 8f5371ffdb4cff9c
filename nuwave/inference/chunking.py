"""Long audio in bounded memory: overlapping windows, a crossfade, and noise that depends only on position.

Plain functions on arrays, testable without a model. Window boundaries fall on sample positions that map to
whole samples at every rate involved (input, model, output), and to whole STFT frames of the model, so two
windows see the same samples in the same frames where they overlap. The initial diffusion noise is drawn per
fixed block of the model-rate timeline from a generator seeded by (seed, block index): the two windows of an
overlap start from the same noise, so they produce nearly the same audio there and an amplitude-complementary
crossfade joins them without a dip or bump in level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from nuwave.audio.dsp import whole_sample_unit

NOISE_BLOCK = 1 << 16


@dataclass(frozen=True)
class ChunkPlan:
    """Windows over `total` input samples: `chunk` samples long, consecutive ones sharing `overlap` samples."""

    total: int
    chunk: int
    overlap: int
    input_rate: int

    @classmethod
    def create(
        cls,
        total: int,
        input_rate: int,
        rates: tuple[int, ...],
        chunk_seconds: float,
        overlap_seconds: float,
        model_rate: int | None = None,
        model_frame: int = 1,
    ) -> "ChunkPlan":
        """Round the chunk and overlap to whole alignment units: positions that are whole samples at every rate
        in `rates` and, at `model_rate`, whole multiples of `model_frame` samples."""
        unit = whole_sample_unit(input_rate, rates)
        if model_rate is not None:
            step = input_rate // math.gcd(input_rate, model_rate)  # input samples per whole model step
            model_step = step * model_rate // input_rate
            unit = math.lcm(unit, step * (model_frame // math.gcd(model_frame, model_step)))
        overlap = max(unit, round(overlap_seconds * input_rate / unit) * unit)
        chunk = max(overlap + unit, round(chunk_seconds * input_rate / unit) * unit)
        return cls(total=total, chunk=chunk, overlap=overlap, input_rate=input_rate)

    @property
    def hop(self) -> int:
        return self.chunk - self.overlap

    def __len__(self) -> int:
        return max(1, math.ceil((self.total - self.overlap) / self.hop))

    def windows(self) -> Iterator[tuple[int, int]]:
        """`[start, end)` input-sample ranges; every window but the first starts `overlap` before the last ends."""
        for index in range(len(self)):
            start = index * self.hop
            yield start, min(start + self.chunk, self.total)

    def at_rate(self, position: int, rate: int) -> int:
        """An input-sample position (a window boundary, or the total) expressed at `rate`."""
        if position == self.total:
            return round(position * rate / self.input_rate)
        exact = position * rate
        if exact % self.input_rate:
            raise ValueError(f"position {position} does not fall on a whole sample at {rate} Hz")
        return exact // self.input_rate


def crossfade_weights(length: int) -> np.ndarray:
    """Raised-cosine fade-in `(length,)` from ~0 to ~1; the fade-out is `1 - w` (they sum to one)."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)).astype(np.float32)


class OverlapAdd:
    """Joins consecutive window outputs `(C, L)` that overlap by `overlap` samples; yields finished audio."""

    def __init__(self, overlap: int) -> None:
        self.overlap = overlap
        self.fade_in = crossfade_weights(overlap)
        self.tail: np.ndarray | None = None

    def push(self, window: np.ndarray, last: bool) -> np.ndarray:
        """Add the next window's output; returns the samples that no later window will change."""
        window = np.array(window, dtype=np.float32)
        if self.tail is not None:
            head = window[:, : self.overlap]
            window[:, : self.overlap] = self.tail * (1.0 - self.fade_in) + head * self.fade_in
        if last:
            self.tail = None
            return window
        self.tail = window[:, -self.overlap :]
        return window[:, : -self.overlap]


def positional_noise(seed: int, start: int, length: int, channels: int = 1) -> torch.Tensor:
    """Standard normal noise `(channels, length)` for model-rate samples `[start, start + length)`.

    Depends only on (seed, absolute position), never on how the timeline was cut into windows.
    """
    first, last = start // NOISE_BLOCK, (start + length - 1) // NOISE_BLOCK
    pieces = []
    for block in range(first, last + 1):
        generator = torch.Generator().manual_seed((seed * 1_000_003 + block) % (2**63))
        pieces.append(torch.randn(channels, NOISE_BLOCK, generator=generator))
    noise = torch.cat(pieces, dim=-1)
    offset = start - first * NOISE_BLOCK
    return noise[:, offset : offset + length]
