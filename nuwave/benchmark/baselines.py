"""A classical, non-learned bandwidth extension to benchmark against: spectral band replication.

The top octave of the known band is copied upwards, period after period, up to the Nyquist frequency (the fine
structure of the copies is the source band's own, as in SBR of HE-AAC), and each copied bin is attenuated by
the spectral slope measured in that octave, frame by frame (dB per octave, clamped to [-30, 0]), times the
number of octaves it moved. STFT: Hann 2048, hop 512 (scipy). Much better than silence above the cutoff in
log-spectral terms; no model, no training, instantaneous.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from nuwave.audio.dsp import fit_length

N_FFT = 2048
HOP = 512
SLOPE_RANGE_DB = (-30.0, 0.0)


def spectral_band_replication(audio: np.ndarray, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """`(..., T)` audio at `sample_rate` whose content stops at `cutoff_hz` -> the same with the band above
    filled by replication (same shape)."""
    audio = np.asarray(audio, dtype=np.float32)
    _, _, spectrum = signal.stft(audio, nperseg=N_FFT, noverlap=N_FFT - HOP, window="hann", boundary="even")
    bins = spectrum.shape[-2]
    top = int(cutoff_hz / (sample_rate / 2) * (bins - 1))
    width = top // 2
    if width < 8 or top >= bins - 1:
        return audio.copy()
    source = spectrum[..., top - width : top, :]
    power = np.abs(source) ** 2
    lower = 10 * np.log10(power[..., : width // 2, :].mean(-2) + 1e-12)
    upper = 10 * np.log10(power[..., width // 2 :, :].mean(-2) + 1e-12)
    octaves_between = np.log2((top - width / 4) / (top - 3 * width / 4))
    slope = np.clip((upper - lower) / octaves_between, *SLOPE_RANGE_DB)  # (..., frames)
    bins_above = np.arange(top, bins)
    source_bins = top - width + (bins_above - top) % width
    gain_db = slope[..., None, :] * np.log2(bins_above / source_bins)[:, None]
    spectrum[..., top:, :] = spectrum[..., source_bins, :] * 10 ** (gain_db / 20)
    _, out = signal.istft(spectrum, nperseg=N_FFT, noverlap=N_FFT - HOP, window="hann", boundary=True)
    return fit_length(out, audio.shape[-1]).astype(np.float32)
