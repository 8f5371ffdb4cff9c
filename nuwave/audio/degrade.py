"""How low-rate audio is made from high-rate audio: the degradations of training and of the benchmark.

One module for both, so a change of protocol is one change. Pure functions on float32 numpy arrays `(..., T)`;
filters are designed by scipy; resampling is scipy's polyphase `resample_poly` where the published protocol
says so and soxr elsewhere; codecs are libsndfile's (via soundfile). Every function returns audio of the input's
length, aligned with it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import soundfile as sf
from scipy import signal

from nuwave.audio.dsp import fit_length, resample
from nuwave.audio.encoder import lame_level

FILTER_KINDS = ("cheby1", "butter", "ellip", "bessel")
CODECS = {"mp3": ("MP3", "MPEG_LAYER_III"), "vorbis": ("OGG", "VORBIS")}


def lowpass(
    audio: np.ndarray,
    sample_rate: int,
    cutoff: float,
    kind: str = "cheby1",
    order: int = 8,
    ripple: float = 0.05,
    zero_phase: bool = True,
) -> np.ndarray:
    """Low-pass `audio` at `cutoff` Hz with an IIR design of scipy (second-order sections).

    kind: cheby1 (passband `ripple` dB), butter, ellip (`ripple` dB, 60 dB stop band) or bessel.
    zero_phase: filter forwards and backwards (`sosfiltfilt`); otherwise once, causally (minimum phase).
    """
    nyquist = sample_rate / 2
    if not 0 < cutoff < nyquist:
        return np.asarray(audio, dtype=np.float32).copy()
    if kind == "cheby1":
        sos = signal.cheby1(order, ripple, cutoff, fs=sample_rate, output="sos")
    elif kind == "butter":
        sos = signal.butter(order, cutoff, fs=sample_rate, output="sos")
    elif kind == "ellip":
        sos = signal.ellip(order, ripple, 60.0, cutoff, fs=sample_rate, output="sos")
    elif kind == "bessel":
        sos = signal.bessel(order, cutoff, fs=sample_rate, output="sos", norm="mag")
    else:
        raise ValueError(f"unknown filter kind {kind!r}; choose one of {', '.join(FILTER_KINDS)}")
    filtered = signal.sosfiltfilt(sos, audio, axis=-1) if zero_phase else signal.sosfilt(sos, audio, axis=-1)
    return np.ascontiguousarray(filtered, dtype=np.float32)


def resample_poly(audio: np.ndarray, input_rate: float, output_rate: float, length: int | None = None) -> np.ndarray:
    """scipy's polyphase resampling by the rational ratio nearest `output_rate / input_rate`, to `length` samples
    (default `round(T * ratio)`)."""
    ratio = (Fraction(output_rate) / Fraction(input_rate)).limit_denominator(1000)
    out = signal.resample_poly(audio, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)
    length = round(audio.shape[-1] * ratio) if length is None else length
    return fit_length(out, length)


def round_trip(audio: np.ndarray, sample_rate: int, low_rate: float) -> np.ndarray:
    """Down to `low_rate` (any real number) and back up with soxr: what an old upsampling of low-rate audio
    looks like. soxr's stop band starts at the low Nyquist frequency and is far below -100 dB, so nothing above
    `low_rate / 2` survives."""
    low = resample(audio, sample_rate, low_rate)
    return resample(low, low_rate, sample_rate, audio.shape[-1])


def encode(audio: np.ndarray, sample_rate: int, name: str = "mp3", level: float = 0.5, constant: bool = False
           ) -> bytes:
    """The encoded file (MP3 or Ogg Vorbis) of `(T,)` or `(C, T)` audio, as bytes.

    level: libsndfile's compression level in [0, 0.95] (0 is the highest bit rate; for MP3, 320 kbit/s down to
    32 kbit/s linearly). constant: constant bit rate (MP3).
    """
    container, subtype = CODECS[name]
    frames = np.atleast_2d(np.asarray(audio, dtype=np.float32)).T
    buffer = io.BytesIO()
    options = {"compression_level": float(np.clip(level, 0.0, 0.95))}
    if constant:
        options["bitrate_mode"] = "CONSTANT"
    with sf.SoundFile(buffer, "w", sample_rate, frames.shape[1], format=container, subtype=subtype, **options) as out:
        out.write(np.clip(frames, -1.0, 1.0))
    return buffer.getvalue()


def codec(audio: np.ndarray, sample_rate: int, name: str = "mp3", level: float = 0.5, constant: bool = False
          ) -> np.ndarray:
    """Encode (see `encode`) and decode: same shape as `audio`, aligned (libsndfile's decoders remove the delay)."""
    audio = np.asarray(audio, dtype=np.float32)
    decoded, _ = sf.read(io.BytesIO(encode(audio, sample_rate, name, level, constant)), dtype="float32",
                         always_2d=True)
    return fit_length(decoded.T, audio.shape[-1]).reshape(audio.shape)


def mp3_level(kbps: float) -> float:
    """The libsndfile compression level of a constant MP3 bit rate in kbit/s at the benchmark's rates (MPEG-1)."""
    return lame_level(kbps, 1)


# The benchmark's protocols ---------------------------------------------------------------------------------

# The bit rate of the benchmark's MP3 protocol when a condition names none ("mp3"), kbit/s.
MP3_KBPS = 128


def is_codec(name: str) -> bool:
    """Whether a suite's degradation (or a condition) is a codec's: "mp3", "mp3-64kbps" (`Degradation.codec_condition`
    reads them)."""
    return name == "mp3" or name.startswith("mp3-")


@dataclass(frozen=True)
class Degradation:
    """A benchmark protocol: how the low-rate input is made from a reference at `reference_rate`.

    standard: zero-phase Chebyshev I (order 8, 0.05 dB ripple) at the input Nyquist, then polyphase down
    (NU-Wave 2, UDM+). sinc: polyphase down only (AP-BWE). mp3: MP3 encode / decode at a constant `kbps` kbit/s
    (default `MP3_KBPS`) at the reference rate.
    """

    name: str
    input_rate: int | None = None
    kbps: int = MP3_KBPS

    @classmethod
    def codec_condition(cls, name: str) -> "Degradation":
        """A codec condition by its name: "mp3" (at `MP3_KBPS`) or "mp3-<bit rate>kbps" (e.g. "mp3-64kbps")."""
        if name == "mp3":
            return cls("mp3")
        rate = name.removeprefix("mp3-").removesuffix("kbps")
        if not (is_codec(name) and name.endswith("kbps") and rate.isdigit() and 8 <= int(rate) <= 320):
            raise ValueError(f"unknown codec condition {name!r}; use mp3 or mp3-<8 to 320>kbps, e.g. mp3-64kbps")
        return cls("mp3", kbps=int(rate))

    def apply(self, reference: np.ndarray, reference_rate: int) -> tuple[np.ndarray, int]:
        """`(..., T)` reference -> (low-rate input, its sample rate)."""
        if self.name == "standard":
            filtered = lowpass(reference, reference_rate, self.input_rate / 2, "cheby1", 8, 0.05, zero_phase=True)
            return resample_poly(filtered, reference_rate, self.input_rate), self.input_rate
        if self.name == "sinc":
            return resample_poly(reference, reference_rate, self.input_rate), self.input_rate
        if self.name == "mp3":
            return mp3(reference, reference_rate, self.kbps), reference_rate
        raise ValueError(f"unknown degradation {self.name!r}; choose standard, sinc or mp3")


def mp3(audio: np.ndarray, sample_rate: int, kbps: int = MP3_KBPS) -> np.ndarray:
    """MP3 at a constant `kbps` kbit/s, decoded (the benchmark's codec protocol)."""
    return codec(audio, sample_rate, "mp3", mp3_level(kbps), constant=True)


# Where a drawn tilt starts (Hz): above the fundamentals and formants that make a sound what it is.
TILT_CORNERS_HZ = (2000.0, 8000.0)


def spectral_tilt(audio: np.ndarray, sample_rate: int, db_per_octave: float, corner_hz: float,
                  numtaps: int = 257) -> np.ndarray:
    """`audio` through a linear-phase FIR (scipy's `firwin2`) whose gain is 0 dB up to `corner_hz` and changes by
    `db_per_octave` per octave above it: the same sound through a brighter or duller recording chain (a
    microphone, its distance, an equaliser). Aligned with the input (the FIR's delay is taken out)."""
    nyquist = sample_rate / 2
    if db_per_octave == 0.0 or not 0 < corner_hz < nyquist:
        return np.asarray(audio, dtype=np.float32).copy()
    freqs = np.concatenate([[0.0], np.geomspace(corner_hz, nyquist, 48)])
    gains = 10 ** (np.concatenate([[0.0], db_per_octave * np.log2(freqs[1:] / corner_hz)]) / 20)
    taps = signal.firwin2(numtaps | 1, freqs, gains, fs=sample_rate)
    return np.ascontiguousarray(signal.oaconvolve(audio, taps, mode="same", axes=-1), dtype=np.float32)


def random_tilt(audio: np.ndarray, sample_rate: int, rng: np.random.Generator, max_db_per_octave: float
                ) -> np.ndarray:
    """`spectral_tilt` at a slope drawn uniformly from +-`max_db_per_octave` above a corner drawn log-uniformly
    from `TILT_CORNERS_HZ`. Training draws it so that the same instrument or voice comes with many levels of its
    high band, each visible in the slope of the band below: the envelope of the missing band is then learned from
    what the input shows, not from what such a sound usually has."""
    slope = float(rng.uniform(-max_db_per_octave, max_db_per_octave))
    corner = float(np.exp(rng.uniform(*np.log(TILT_CORNERS_HZ))))
    return spectral_tilt(audio, sample_rate, slope, corner)


# Training: degradations drawn at random ---------------------------------------------------------------------

@dataclass(frozen=True)
class DegradationRange:
    """What `random_degradation` draws from (Hz, probability)."""

    min_cutoff_hz: float = 2000.0
    max_cutoff_hz: float = 22000.0
    codec_probability: float = 0.2
    resample_probability: float = 0.0


def random_degradation(
    target: np.ndarray, sample_rate: int, rng: np.random.Generator, ranges: DegradationRange = DegradationRange()
) -> tuple[np.ndarray, float]:
    """Make a low-rate condition from a clean segment `(T,)` as real low-rate audio is made.

    A random low-pass (Chebyshev I, Butterworth, elliptic or Bessel; order 2-10; ripple 0.01-3 dB; zero or
    minimum phase) at a log-uniform cutoff, a soxr round trip through twice the cutoff, and with
    `codec_probability` an MP3 or Vorbis round trip at a random bit rate. With `resample_probability` the
    low-pass is left out: the soxr round trip alone, a plain sample-rate conversion, which is how most low-rate
    files are made (flat to just under the cutoff, where a low-order filter has already taken several dB off the
    input's top). Returns the condition (same length, at `sample_rate`) and its cutoff in Hz (the codec's own cut
    when that is lower, as the detector sees it).
    """
    from nuwave.audio.cutoff import detect_cutoff

    top = min(ranges.max_cutoff_hz, 0.49 * sample_rate)
    cutoff = float(np.exp(rng.uniform(np.log(ranges.min_cutoff_hz), np.log(top))))
    kind = FILTER_KINDS[rng.integers(len(FILTER_KINDS))]
    order = int(rng.integers(2, 11))
    ripple = float(rng.choice([0.01, 0.05, 0.1, 0.5, 1.0, 3.0]))
    zero_phase = bool(rng.random() < 0.5)
    # drawn only when asked for, so runs without it draw the same degradations as before it existed
    resampled_only = ranges.resample_probability > 0 and rng.random() < ranges.resample_probability
    filtered = target if resampled_only else lowpass(target, sample_rate, cutoff, kind, order, ripple, zero_phase)
    cond = round_trip(filtered, sample_rate, 2 * cutoff)
    if rng.random() < ranges.codec_probability:
        cond = codec(cond, sample_rate, ("mp3", "vorbis")[rng.integers(2)], level=float(rng.uniform(0.1, 0.8)))
        cutoff = min(cutoff, detect_cutoff([cond[None]], sample_rate))
    return cond, cutoff
