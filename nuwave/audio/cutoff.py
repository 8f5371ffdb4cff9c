"""The cutoff of a recording (its effective bandwidth): the frequency in Hz above which its spectrum falls off a
cliff.

Method (documented for users in the README):
1. The long-term average power spectrum (Hann windows of 4096 samples, hop 2048, mean of |X|^2 over all frames
   and channels) is accumulated block by block, so a file of any length is read once in bounded memory.
2. It is smoothed in frequency (moving average over about 150 Hz) and expressed in dB.
3. For each candidate frequency f, `below(f)` is the highest level in the 2 kHz just under f and `above(f)`
   the highest level anywhere above f. The cutoff is the lowest f where `below(f) - above(f)` exceeds 30 dB:
   everything above it is far quieter than the band just under it. A low-pass filter, an encoder's cut or an
   old upsampling all leave such a cliff; a natural high-frequency roll-off does not, because it falls by far
   less than 30 dB in 2 kHz, and any noise floor or air above it keeps `above(f)` up.
   The level above the cliff must also lie 50 dB below the spectrum's peak: a band-limited file is (nearly)
   empty above its cutoff, while strong tones over a noise floor only look like a cliff.
   The reported cutoff is the top of the cliff's edge: the highest frequency at or below that f whose level is
   within 10 dB of `below(f)`; that f itself is the cliff's foot (`cliff_from_spectrum`), where the content
   is gone. The edge follows the content's own top (a quiet top band reads lower); the foot follows the filter
   that made the cliff, which is what tells an encoder's low-pass from the end of the content under it.
4. With no cliff the cutoff is the Nyquist frequency.

The content top (`content_top_from_spectrum`) is where a recording's content ends, cliff or not: the highest
frequency whose smoothed long-term level (steps 1-2) lies within `CONTENT_DB` of the spectrum's peak, and no higher
than the cutoff. A gentle roll-off (a soft low-pass in production, a recording once made at 32 kHz) ends the
content as surely as a cliff but leaves none: such a file measures full band above while holding nothing above
12-16 kHz. The corpus recipe records it (`content_hz`); a benchmark reference must reach the band it measures.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

N_FFT = 4096
HOP = 2048
CLIFF_DB = 30.0
EDGE_DB = 10.0
FLOOR_DB = 50.0
SMOOTH_HZ = 150.0
BELOW_HZ = 2000.0
CONTENT_DB = 70.0


class SpectrumAccumulator:
    """Accumulates the long-term average power spectrum of `(C, T)` blocks fed in order."""

    def __init__(self) -> None:
        self.window = np.hanning(N_FFT).astype(np.float32)
        self.power = np.zeros(N_FFT // 2 + 1)
        self.frames = 0
        self._carry: np.ndarray | None = None

    def update(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        if self._carry is not None:
            block = np.concatenate([self._carry, block], axis=-1)
        count = 0 if block.shape[-1] < N_FFT else 1 + (block.shape[-1] - N_FFT) // HOP
        if count:
            frames = np.lib.stride_tricks.sliding_window_view(block, N_FFT, axis=-1)[..., ::HOP, :][..., :count, :]
            spectra = np.abs(np.fft.rfft(frames * self.window, axis=-1)) ** 2
            self.power += spectra.reshape(-1, spectra.shape[-1]).sum(axis=0)
            self.frames += spectra.shape[0] * count
        self._carry = block[..., count * HOP :]

    def spectrum(self) -> np.ndarray | None:
        """The mean power spectrum `(N_FFT // 2 + 1,)`, or None when less than one window was seen."""
        if self.frames == 0:
            if self._carry is None or self._carry.shape[-1] == 0:
                return None
            padded = np.zeros((*self._carry.shape[:-1], N_FFT), np.float32)
            padded[..., : self._carry.shape[-1]] = self._carry
            spectra = np.abs(np.fft.rfft(padded * self.window, axis=-1)) ** 2
            return spectra.reshape(-1, spectra.shape[-1]).mean(axis=0)
        return self.power / self.frames

    def cutoff(self, sample_rate: int) -> float:
        """The cutoff in Hz of what was fed (the Nyquist frequency when nothing was)."""
        return self.cliff(sample_rate)[0]

    def cliff(self, sample_rate: int) -> tuple[float, float]:
        """The cliff's edge (the cutoff) and foot in Hz of what was fed (`cliff_from_spectrum`)."""
        power = self.spectrum()
        return (sample_rate / 2,) * 2 if power is None else cliff_from_spectrum(power, sample_rate)

    def content_top(self, sample_rate: int) -> float:
        """The content top in Hz of what was fed (the Nyquist frequency when nothing was)."""
        power = self.spectrum()
        return sample_rate / 2 if power is None else content_top_from_spectrum(power, sample_rate)


def _smoothed_level(power: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float, int]:
    """The level in dB of a mean power spectrum smoothed over `SMOOTH_HZ`, the bin width in Hz and the smoothing
    width in bins."""
    bin_hz = sample_rate / 2 / (power.size - 1)
    width = max(1, int(round(SMOOTH_HZ / bin_hz)))
    smoothed = np.convolve(power, np.ones(width) / width, mode="same")
    return 10 * np.log10(smoothed + 1e-30), bin_hz, width


def cutoff_from_spectrum(power: np.ndarray, sample_rate: int) -> float:
    """The cutoff in Hz of a mean power spectrum `(N_FFT // 2 + 1,)` (see the module docstring)."""
    return cliff_from_spectrum(power, sample_rate)[0]


def cliff_from_spectrum(power: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """The edge (the cutoff) and the foot in Hz of the cliff of a mean power spectrum `(N_FFT // 2 + 1,)` (see the
    module docstring); both the Nyquist frequency without a cliff."""
    nyquist = sample_rate / 2
    level, bin_hz, width = _smoothed_level(power, sample_rate)
    if level.max() < -200:  # digital silence: nothing to measure
        return nyquist, nyquist
    below_bins = max(1, int(round(BELOW_HZ / bin_hz)))
    # above[i] = max level over bins i+1..end; below[i] = max level over the below_bins bins up to i.
    above = np.maximum.accumulate(level[::-1])[::-1]
    above = np.append(above[1:], -np.inf)
    padded = np.concatenate([np.full(below_bins - 1, -np.inf), level])
    below = np.lib.stride_tricks.sliding_window_view(padded, below_bins).max(axis=-1)
    index = np.arange(level.size)
    # Ignore the lowest 2 kHz (DC offsets and rumble say nothing about bandwidth) and the smoothing's edge.
    cliff = (below - above > CLIFF_DB) & (above < level.max() - FLOOR_DB)
    candidates = np.flatnonzero(cliff & (index >= below_bins) & (index < level.size - width))
    if candidates.size == 0:
        return nyquist, nyquist
    cliff = candidates[0]
    edge = np.flatnonzero(level[: cliff + 1] >= below[cliff] - EDGE_DB)[-1]
    return float(min(edge * bin_hz, nyquist)), float(min(cliff * bin_hz, nyquist))


def content_top_from_spectrum(power: np.ndarray, sample_rate: int) -> float:
    """The content top in Hz of a mean power spectrum `(N_FFT // 2 + 1,)` (see the module docstring): at most the
    cutoff; the Nyquist frequency for digital silence."""
    cutoff = cutoff_from_spectrum(power, sample_rate)
    level, bin_hz, width = _smoothed_level(power, sample_rate)
    if level.max() < -200:
        return cutoff
    # The smoothing's edge at the top is left out, as for the cutoff; content up to there reaches the top, and so
    # does a spectrum whose peak lies in that edge (nothing under it is within reach of the peak).
    considered = level[: level.size - width]
    within = np.flatnonzero(considered >= level.max() - CONTENT_DB)
    if within.size == 0 or within[-1] == considered.size - 1:
        return cutoff
    return float(min(within[-1] * bin_hz, cutoff))


def detect_cutoff(blocks: Iterable[np.ndarray], sample_rate: int) -> float:
    """The cutoff in Hz of audio given as consecutive `(C, T)` blocks."""
    accumulator = SpectrumAccumulator()
    for block in blocks:
        accumulator.update(block)
    return accumulator.cutoff(sample_rate)


# The input's top, where a lossy codec cut it: the `TOP_HZ` under the cutoff (less the resampler's transition band,
# `nuwave.audio.dsp.RESAMPLER_TRANSITION`), and the `TOP_HZ` under that for its slope.
TOP_HZ = 1500.0


def top_end(cutoff_hz):
    """Where the input's trusted top ends: the cutoff less the resampler's transition band (in the cutoff's unit, Hz
    or a fraction of the Nyquist frequency; a float or a tensor)."""
    from nuwave.audio.dsp import RESAMPLER_TRANSITION

    return (1.0 - RESAMPLER_TRANSITION) * cutoff_hz


def top_slope(power: np.ndarray, sample_rate: float, cutoff_hz: float) -> float:
    """The long-term slope of the top of a spectrum, in dB per kHz, never rising (at most 0).

    power: `(bins,)` mean power from 0 Hz to the Nyquist frequency of `sample_rate`. The slope is the level of the
    `TOP_HZ` just under the cutoff (less the resampler's transition band) against the level of the `TOP_HZ` under
    that, over their distance. 0 when either band holds no bin or no power."""
    freqs = np.linspace(0.0, sample_rate / 2, power.shape[-1])
    top = top_end(cutoff_hz)
    upper = power[(freqs > top - TOP_HZ) & (freqs <= top)]
    lower = power[(freqs > top - 2 * TOP_HZ) & (freqs <= top - TOP_HZ)]
    if upper.size == 0 or lower.size == 0 or upper.mean() <= 0 or lower.mean() <= 0:
        return 0.0
    return float(min(0.0, 10 * np.log10(upper.mean() / lower.mean()) / (TOP_HZ / 1000)))
