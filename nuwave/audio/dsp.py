"""Signal processing helpers: lengths and rates, resampling, level normalisation and the known-band merge. Pure
functions."""

from __future__ import annotations

import functools
import math

import numpy as np
import soxr
import torch

MERGE_N_FFT = 2048
MERGE_HOP = 512
# soxr's transition band, as a fraction of the input's Nyquist frequency: its "very high quality" filter is flat
# to 93% of it and 6 dB down at 95%. The model's condition is resampled so (as in training); where the input's top
# is read from the condition, this much under the cutoff is left out.
RESAMPLER_TRANSITION = 0.06
# The known band's top fraction (of the cutoff) that the merge hands over to the generated band: the transition
# band of `resample_sharp`, which gives the merge the input's own band up to 97.5% of its Nyquist frequency.
MERGE_TRANSITION = 0.01
# Under a lossy codec's cut there is no resampler's transition band: the decoded input is exact up to where its
# content ends (the detected cutoff), and the generated band only begins there.
CODEC_MERGE_TRANSITION = 0.0
# In the resampler's transition band under a rate's cutoff, the input is handed over where its power over the
# whole window lies this far under the generated signal's (`merge_known_band`). A resampler's roll-off belongs to
# the file, not to a frame: taken bin by bin and frame by frame, the test also handed over spectral valleys and quiet
# frames of an intact top, where the model's estimate is louder than the input (music from 22.05 kHz, the
# benchmark's protocol: LSD-LF 0.254, 0.195 now). An attenuated top, as soxr leaves it, is still handed over.
ATTENUATED_DB = 6.0
# MP3 spectral holes (`fill_codec_holes`). An encoder short of bits quantises whole scale-factor bands of the top
# of the band it keeps to zero, granule by granule (576 samples), the more often the lower its bit rate: the
# decoded input has holes tens of dB deep there. They are looked for from `HOLE_ZONE` of the codec's cutoff up, on
# an STFT of about a granule's hop; a bin is a hole where the input lies `HOLE_DB` or more under the generated
# signal, and is filled from the generated signal brought to the input's level, per `HOLE_BAND_HZ` band and frame,
# on the bins that are not holes. The two numbers were chosen on the training split's lossless voices and music at
# 64, 96 and 128 kbit/s (`eval/results/codec_holes.md`, `python scripts/codec_holes.py --files 10`): 20 and 30 dB
# fill natural valleys of music as well.
HOLE_N_FFT = 1024
HOLE_HOP = 256
HOLE_DB = 40.0
HOLE_ZONE = 0.6
HOLE_BAND_HZ = 750.0
# A band-frame takes its own level from the input when at least this share of its bins are not holes; else the
# median of the item's band-frames that do.
HOLE_MIN_INTACT = 0.25
# Mirrored samples at each end of a tilted signal: the inverse tilt's impulse response is below 1e-5 by then.
TILT_PAD = 2048


def fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """`(..., T)` cropped or zero-padded at the end to exactly `length` samples."""
    if audio.shape[-1] >= length:
        return np.ascontiguousarray(audio[..., :length])
    pad = [(0, 0)] * (audio.ndim - 1) + [(0, length - audio.shape[-1])]
    return np.pad(audio, pad)


def whole_sample_unit(sample_rate: int, rates) -> int:
    """The smallest number of samples at `sample_rate` whose duration is a whole number of samples at every rate
    in `rates` (a duration in multiples of it converts exactly)."""
    unit = 1
    for rate in rates:
        unit = math.lcm(unit, sample_rate // math.gcd(sample_rate, rate))
    return unit


def resample(audio: np.ndarray, input_rate: float, output_rate: float, length: int | None = None) -> np.ndarray:
    """Resample `(..., T)` float audio along its last axis with soxr (very high quality, linear phase).

    The result has exactly `length` samples (default `round(T * output_rate / input_rate)`), cropped or
    zero-padded at the end, so that every caller can rely on the length contract.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if length is None:
        length = round(audio.shape[-1] * output_rate / input_rate)
    if input_rate == output_rate:
        out = audio
    else:
        lead = audio.shape[:-1]
        flat = audio.reshape(-1, audio.shape[-1])
        # soxr takes (T, channels); float64 avoids its float32 path's lower stop-band attenuation.
        out = soxr.resample(flat.T.astype(np.float64), input_rate, output_rate, quality="VHQ").T
        out = out.astype(np.float32).reshape(*lead, -1)
    return fit_length(out, length)


# `resample_band_limited`: zeros at each end of the signal, in seconds, so that the FFT's circular wrap does not
# carry one end into the other (an ideal low-pass's response has fallen below -80 dB that far out).
BAND_LIMITED_PAD_SECONDS = 0.1


def resample_band_limited(audio: np.ndarray, input_rate: int, output_rate: int, length: int | None = None
                          ) -> np.ndarray:
    """Ideal band-limited resampling of a whole signal by the FFT: everything under the lower Nyquist frequency
    kept at its level, nothing above it. For benchmark references and sets, whose content must reach as far as the
    recording's: soxr (`resample`) loses the top 7% of the lower Nyquist frequency (20.1-22.05 kHz of a 44.1 kHz
    recording brought to 48 kHz, or of a 48 kHz one brought to 44.1 kHz), and `resample_sharp` lets images
    through above it. `(..., T)` at integer rates; exactly `length` samples (default `round(T * output_rate /
    input_rate)`). The signal is zero-padded to a whole number of the rates' common period, so that the new
    samples fall exactly on the old time grid."""
    from scipy.signal import resample as fft_resample

    audio = np.asarray(audio, dtype=np.float32)
    if length is None:
        length = round(audio.shape[-1] * output_rate / input_rate)
    if input_rate == output_rate:
        return fit_length(audio, length)
    common = math.gcd(int(input_rate), int(output_rate))
    period_in, period_out = int(input_rate) // common, int(output_rate) // common
    pad = math.ceil(BAND_LIMITED_PAD_SECONDS * input_rate / period_in) * period_in
    total = math.ceil((audio.shape[-1] + 2 * pad) / period_in) * period_in
    padded = np.zeros((*audio.shape[:-1], total))
    padded[..., pad : pad + audio.shape[-1]] = audio
    out = fft_resample(padded, total // period_in * period_out, axis=-1)
    start = pad // period_in * period_out
    return fit_length(out[..., start:].astype(np.float32), length)


# `resample_sharp`'s filter: a Kaiser-windowed sinc (beta 8, about 80 dB of stop-band attenuation) reaching this
# many zero crossings of the lower rate either side, which makes it flat (within 0.2 dB) to 97.5% of the lower
# Nyquist frequency and 7 dB down at it.
SHARP_ZERO_CROSSINGS = 64
SHARP_KAISER_BETA = 8.0


def resample_sharp(audio: np.ndarray, input_rate: int, output_rate: int, length: int | None = None) -> np.ndarray:
    """`resample` with a steeper filter (scipy's polyphase resampler, `SHARP_ZERO_CROSSINGS`): the band that is
    kept from the input, up to its Nyquist frequency, loses only its top 2.5% (soxr's loses 7%, which is right for
    the model's condition, resampled as in training, but not for the known band of the output). `(..., T)`;
    exactly `length` samples (default `round(T * output_rate / input_rate)`); the exact ratio of integer rates."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    audio = np.asarray(audio, dtype=np.float32)
    if length is None:
        length = round(audio.shape[-1] * output_rate / input_rate)
    if input_rate == output_rate:
        return fit_length(audio, length)
    if float(input_rate).is_integer() and float(output_rate).is_integer():
        ratio = Fraction(int(output_rate), int(input_rate))
    else:
        ratio = Fraction(output_rate / input_rate).limit_denominator(1000)
    taps = _sharp_filter(ratio.numerator, ratio.denominator)
    out = resample_poly(audio.astype(np.float64), ratio.numerator, ratio.denominator, axis=-1, window=taps)
    return fit_length(out.astype(np.float32), length)  # resample_poly scales the taps by `up` itself


@functools.lru_cache(maxsize=4)
def _sharp_filter(up: int, down: int) -> np.ndarray:
    """`resample_sharp`'s taps for one ratio (designed once: chunks of a file share them)."""
    from scipy.signal import firwin

    taps = firwin(2 * SHARP_ZERO_CROSSINGS * max(up, down) + 1, 1.0 / max(up, down),
                  window=("kaiser", SHARP_KAISER_BETA))
    taps.setflags(write=False)
    return taps


def coloured_noise(white: np.ndarray, sample_rate: float, slope: float, top_hz: float, rms: float) -> np.ndarray:
    """White noise `(T,)` shaped so that its power falls as f^-`slope` above 50 Hz, with nothing above `top_hz`,
    at `rms` (float32): a room tone (the noise floor of a recording room, under speech and in its pauses)."""
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(white.size, 1.0 / sample_rate)
    spectrum *= np.where(freqs <= top_hz, np.maximum(freqs, 50.0) ** (-slope / 2), 0.0)
    noise = np.fft.irfft(spectrum, n=white.size)
    return (noise * rms / max(float(np.sqrt(np.mean(noise**2))), 1e-20)).astype(np.float32)


def level_gain(cond: torch.Tensor, target_rms: float = 0.2, floor: float = 1e-4) -> torch.Tensor:
    """Per-item gain that brings the condition `(B, 1, T)` to `target_rms`; returns `(B, 1, 1)`.

    The diffusion model always sees its input at one level, so a quiet recording gets the same treatment as a
    loud one; the floor keeps digital silence from being amplified into the model's range. Training and
    sampling use this same function.
    """
    rms = cond.float().square().mean(dim=(1, 2), keepdim=True).sqrt()
    return target_rms / rms.clamp_min(floor)


# Where the odd excitation stops following the input's level: its local power under this (a level-normalised
# input, RMS 0.2: 46 dB under the working level) counts as this, so near-silence is not raised to full scale.
EXCITATION_FLOOR = 1e-6


def odd_excitation(audio: torch.Tensor, window: int) -> torch.Tensor:
    """`audio ** 3` divided by its local power (a moving mean of `audio ** 2` over `window | 1` samples); `(B, T)`
    -> same.

    An odd nonlinearity puts energy above a band-limited signal's top that is time-aligned with it: the harmonics
    it adds to a voiced sound sit on the pitch pulses, as the missing band of a real voice does, with the input's
    polarity (classic bandwidth extension's excitation). Divided by the local power, it scales like the input.
    """
    return (audio.float() ** 3 / (local_power(audio.float(), window) + EXCITATION_FLOOR)).to(audio.dtype)


def local_power(audio: torch.Tensor, window: int) -> torch.Tensor:
    """The moving mean of `audio ** 2` over `window | 1` samples, centred, over what lies inside the signal at its
    ends; `(B, T)` -> same.

    From a running sum in double precision, whose rounding (about 1e-16 of the whole signal's energy, a working
    level's 1e-11) stays far under `EXCITATION_FLOOR`: a cost linear in the signal, where a pooling window of
    hundreds of samples took a tenth of a sampling's time."""
    half = (window | 1) // 2
    length = audio.shape[-1]
    running = audio.double().square().cumsum(dim=-1)
    # running sums up to each window's end and before its start, the ends held past the signal's edges
    ends = torch.cat([running, running[..., -1:].expand(*running.shape[:-1], half)], dim=-1)[..., half:]
    starts = torch.nn.functional.pad(running, (half + 1, 0))[..., :length]
    index = torch.arange(length, device=audio.device, dtype=torch.float64)
    count = (index + half + 1).clamp(max=length) - (index - half).clamp(min=0)
    return ((ends - starts).clamp_min(0.0) / count).to(audio.dtype)


# Linear prediction for the phase lock's second excitation: speech's usual order for a narrow band and a window of a
# few pitch periods (what it gives on training and held-out voices: `eval/results/coherence_ceiling.md`).
PREDICTION_ORDER = 8
PREDICTION_SECONDS = 0.025
# White-noise correction of the moving autocorrelation (`linear_prediction_residual`): bounds how far the inverse
# filter lifts a band the signal has nothing in (30 dB).
PREDICTION_CORRECTION = 1e-3


def linear_prediction_residual(audio: np.ndarray, order: int, window: int,
                               correction: float = PREDICTION_CORRECTION) -> np.ndarray:
    """The error of predicting each sample from the `order` before it, `(..., T)` -> same.

    The predictor is fitted to the signal around each sample: its autocorrelation over a moving window of `window`
    samples (lag products averaged with triangular weights, scipy's `uniform_filter1d` twice, zero outside the
    signal; a flat window's estimates are noisier around narrow resonances), the zero lag raised by
    `correction`, solved for every sample at once by the Levinson-Durbin recursion (reflection coefficients held
    inside ±0.999). Being the same at every sample, the residual of a chunk equals the whole signal's away from
    the chunk's edges. The residual of speech is its excitation: the glottal pulses with the formants taken off.
    """
    from scipy.ndimage import uniform_filter1d

    x = np.asarray(audio, dtype=np.float64)

    def moving_mean(values: np.ndarray) -> np.ndarray:  # twice over half the window: a triangular weighting
        half = max(1, window // 2)
        return uniform_filter1d(uniform_filter1d(values, half, axis=-1, mode="constant"), half, axis=-1,
                                mode="constant")

    lags = [moving_mean(x[..., k:] * x[..., : x.shape[-1] - k]) for k in range(order + 1)]
    lags = [np.concatenate([np.zeros(x.shape[:-1] + (k,)), lag], axis=-1) for k, lag in enumerate(lags)]
    coefficients: list[np.ndarray] = []  # one array per lag, each the shape of `x` (contiguous, fast to combine)
    error = lags[0] * (1.0 + correction)
    for i in range(order):
        acc = lags[i + 1].copy()
        for j, coefficient in enumerate(coefficients):
            acc += coefficient * lags[i - j]
        reflection = np.where(error > 1e-30, -acc / np.maximum(error, 1e-30), 0.0).clip(-0.999, 0.999)
        coefficients = [c + reflection * coefficients[i - 1 - j] for j, c in enumerate(coefficients)] + [reflection]
        error *= 1.0 - reflection**2
    residual = x.copy()
    for j, coefficient in enumerate(coefficients):
        residual[..., j + 1:] += coefficient[..., j + 1:] * x[..., : x.shape[-1] - j - 1]
    return residual.astype(np.float32)


def input_residual(audio: np.ndarray, sample_rate: float) -> np.ndarray:
    """The phase lock's linear-prediction residual of `audio` `(..., T)` at `sample_rate`: `PREDICTION_ORDER` over
    `PREDICTION_SECONDS` (`linear_prediction_residual`)."""
    return linear_prediction_residual(audio, PREDICTION_ORDER, max(2, round(PREDICTION_SECONDS * sample_rate)))


def spectral_tilt(audio: torch.Tensor, sample_rate: float, db_per_octave: float, corner_hz: float, max_db: float,
                  inverse: bool = False) -> torch.Tensor:
    """Raise every frequency above `corner_hz` by `db_per_octave` per octave, at most `max_db`; `(..., T)` -> same.

    A zero-phase filter applied in the Fourier domain to the signal mirrored by `TILT_PAD` samples at each end,
    then cropped: its end does not wrap into its start, a chunk at a file's edge is filtered like the whole
    file, and since a zero-phase filter keeps a mirrored signal mirrored, `inverse=True` undoes it exactly (to
    rounding). Natural audio falls by several dB per octave above a few hundred Hz (the training corpus's
    long-term spectrum: eval/results/corpus_spectrum.md, from `scripts/corpus_spectrum.py`); tilting it back
    gives every band a similar power, which is what a diffusion model with white noise needs (see
    `NuWaveDenoiser`).
    """
    if db_per_octave == 0.0:
        return audio
    length = audio.shape[-1]
    pad = min(TILT_PAD, length - 1)
    padded = length + 2 * pad
    freqs = torch.fft.rfftfreq(padded, 1.0 / sample_rate, device=audio.device)
    octaves = torch.log2(freqs.clamp_min(corner_hz) / corner_hz)
    gain_db = (db_per_octave * octaves).clamp(max=max_db)
    gains = 10.0 ** ((-gain_db if inverse else gain_db) / 20.0)
    mirrored = torch.nn.functional.pad(audio.float().reshape(-1, 1, length), (pad, pad), mode="reflect")
    filtered = torch.fft.irfft(torch.fft.rfft(mirrored) * gains, n=padded)[..., pad : pad + length]
    return filtered.reshape(audio.shape).to(audio.dtype)


def known_band_mask(bandwidth: torch.Tensor, bins: int, transition: float = MERGE_TRANSITION) -> torch.Tensor:
    """Weights `(B, bins)` in [0, 1] for the known band: 1 below `(1 - transition) * cutoff`, 0 above the cutoff.

    `bandwidth` is `(B,)`, the cutoff over the Nyquist frequency. The raised-cosine ramp in between hands the
    resampler's own transition band (where the input is already attenuated) over to the generated signal; 0: a
    hard edge at the cutoff.
    """
    freqs = torch.linspace(0.0, 1.0, bins, device=bandwidth.device)[None, :]
    top = bandwidth.float()[:, None]
    bottom = top * (1.0 - transition)
    ramp = ((top - freqs) / (top - bottom).clamp_min(1e-6)).clamp(0.0, 1.0)
    return 0.5 - 0.5 * torch.cos(torch.pi * ramp)


def _spectra(n_fft: int, hop: int, *signals: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The Hann window of `n_fft` and the complex STFTs `(B, bins, frames)` of `(B, 1, T)` signals on it (centred,
    zero-padded), for a merge that goes back with `torch.istft` on the same window."""
    window = torch.hann_window(n_fft, device=signals[0].device)
    return window, [torch.stft(x[:, 0].float(), n_fft, hop, window=window, center=True, pad_mode="constant",
                               return_complex=True) for x in signals]


def merge_known_band(generated: torch.Tensor, cond: torch.Tensor, bandwidth: torch.Tensor,
                     transition: float = MERGE_TRANSITION, attenuated: float | None = None) -> torch.Tensor:
    """Keep the input below its cutoff and the generated signal above it. `(B, 1, T)` x2, `(B,)` -> `(B, 1, T)`.

    `transition`: the share of the band under the cutoff handed over gradually (`known_band_mask`). `attenuated`: a
    wider share, handed over in the STFT bins where the input's power over the whole window lies more than
    `ATTENUATED_DB` under the generated signal's (an input whose own low-pass was gentle, or whose resampler was
    soxr's, is attenuated there; an input whose content reaches its cutoff is kept, its valleys and quiet frames
    included)."""
    length = generated.shape[-1]
    window, (known, new) = _spectra(MERGE_N_FFT, MERGE_HOP, cond, generated)
    mask = known_band_mask(bandwidth, MERGE_N_FFT // 2 + 1, transition)[:, :, None]
    if attenuated is not None:
        wide = known_band_mask(bandwidth, MERGE_N_FFT // 2 + 1, attenuated)[:, :, None]
        faint = known.abs().square().mean(-1, keepdim=True) < (
            10 ** (-ATTENUATED_DB / 10) * new.abs().square().mean(-1, keepdim=True))  # (B, bins, 1)
        mask = torch.where(faint, torch.minimum(mask, wide), mask)
    spectrum = mask * known + (1.0 - mask) * new
    merged = torch.istft(spectrum, MERGE_N_FFT, MERGE_HOP, window=window, center=True, length=length)
    return merged[:, None, :]


def fill_codec_holes(known: torch.Tensor, generated: torch.Tensor, bandwidth: torch.Tensor, sample_rate: float,
                     hole_db: float = HOLE_DB, zone: float = HOLE_ZONE) -> torch.Tensor:
    """The decoded input `known` `(B, 1, T)` with the spectral holes a lossy codec left under its cutoff filled
    from `generated` `(B, 1, T)` (the model's output, same rate and length): see `HOLE_DB`. `bandwidth` `(B,)`: the
    codec's cutoff over the Nyquist frequency of `sample_rate`. Bins that are not holes (`hole_db` or more under
    the generated signal), and everything under `zone` of the cutoff, keep the input as it is; where the input is
    silent the generated signal is too (the pipeline silences it there), so nothing is filled."""
    length = known.shape[-1]
    window, (input_spec, model_spec) = _spectra(HOLE_N_FFT, HOLE_HOP, known, generated)
    bins = input_spec.shape[1]
    freqs = torch.linspace(0.0, sample_rate / 2, bins, device=known.device)
    cutoff = bandwidth.float()[:, None] * sample_rate / 2  # (B, 1) Hz
    searched = ((freqs[None, :] >= zone * cutoff) & (freqs[None, :] < cutoff)).float()[:, :, None]  # (B, bins, 1)
    input_power, model_power = input_spec.abs().square(), model_spec.abs().square()
    holes = searched * (input_power < 10 ** (-hole_db / 10) * model_power).float()  # (B, bins, frames)
    intact = searched - holes
    band_of = (freqs / HOLE_BAND_HZ).long()
    membership = (band_of[None, :] == torch.arange(int(band_of.max()) + 1, device=known.device)[:, None]).float()
    count = torch.einsum("kf,bft->bkt", membership, intact)
    ratio = (torch.einsum("kf,bft->bkt", membership, intact * input_power)
             / torch.einsum("kf,bft->bkt", membership, intact * model_power).clamp_min(1e-30))
    own = count >= HOLE_MIN_INTACT * torch.einsum("kf,bf->bk", membership, searched[:, :, 0])[:, :, None].clamp_min(1.0)
    fallback = torch.stack([r[o].median() if o.any() else r.new_tensor(0.0) for r, o in zip(ratio, own)])
    level = torch.where(own, ratio, fallback[:, None, None])  # (B, bands, frames): input over generated power
    gain = torch.einsum("kf,bkt->bft", membership, level.sqrt())
    filled = torch.where(holes > 0, model_spec * gain, input_spec)
    return torch.istft(filled, HOLE_N_FFT, HOLE_HOP, window=window, center=True, length=length)[:, None, :]
