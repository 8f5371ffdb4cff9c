import io

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from nuwave.audio.cutoff import SpectrumAccumulator, detect_cutoff
from nuwave.audio.dsp import resample


def blocks(audio: np.ndarray, size: int = 7000):
    audio = np.atleast_2d(audio)
    for start in range(0, audio.shape[-1], size):
        yield audio[:, start : start + size]


def noise(sample_rate: int, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(int(sample_rate * seconds))
    return (0.05 * signal.lfilter([1.0], [1.0, -0.9], white)).astype(np.float32)  # falls ~20 dB to the top


@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000])
def test_full_band_audio_reports_its_nyquist(sample_rate):
    assert detect_cutoff(blocks(noise(sample_rate)), sample_rate) == sample_rate / 2


@pytest.mark.parametrize("content_rate", [8000, 16000, 24000, 32000])
def test_old_upsampling_is_detected(content_rate):
    audio = resample(resample(noise(48000), 48000, content_rate), content_rate, 48000)
    cutoff = detect_cutoff(blocks(audio), 48000)
    assert 0.85 * content_rate / 2 <= cutoff <= 1.02 * content_rate / 2


@pytest.mark.parametrize("cutoff_hz", [4000, 11025, 16000])
def test_chebyshev_low_pass_is_detected(cutoff_hz):
    sos = signal.cheby1(8, 0.05, cutoff_hz, fs=44100, output="sos")
    audio = signal.sosfiltfilt(sos, noise(44100)).astype(np.float32)
    assert 0.9 * cutoff_hz <= detect_cutoff(blocks(audio), 44100) <= 1.1 * cutoff_hz


def test_mp3_encoder_cut_is_detected():
    buffer = io.BytesIO()
    sf.write(buffer, noise(44100), 44100, format="MP3")
    buffer.seek(0)
    decoded, rate = sf.read(buffer, dtype="float32")
    assert 14000 <= detect_cutoff(blocks(decoded), rate) <= 20000


def test_block_size_does_not_matter_and_silence_is_full_band():
    audio = resample(noise(48000), 48000, 22050)
    assert detect_cutoff(blocks(audio, 1000), 22050) == detect_cutoff(blocks(audio, 50000), 22050)
    assert detect_cutoff(blocks(np.zeros(48000, np.float32)), 48000) == 24000


def measured(audio: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(cutoff, content top) of `audio`."""
    accumulator = SpectrumAccumulator()
    for block in blocks(audio):
        accumulator.update(block)
    return accumulator.cutoff(sample_rate), accumulator.content_top(sample_rate)


def test_content_top_finds_a_gentle_roll_off_the_cutoff_misses():
    # A third-order low-pass at 3 kHz, run forward and back (36 dB per octave), over a noise floor 90 dB down:
    # no cliff, but nothing within 70 dB of the peak above about 11.5 kHz.
    rng = np.random.default_rng(0)
    rolled = signal.sosfiltfilt(signal.butter(3, 3000, fs=44100, output="sos"), 0.1 * rng.standard_normal(4 * 44100))
    audio = (rolled + 0.1 * 10 ** (-90 / 20) * rng.standard_normal(rolled.size)).astype(np.float32)
    cutoff, top = measured(audio, 44100)
    assert cutoff == 22050
    assert 8000 <= top <= 12500


def test_content_top_of_full_band_and_cut_audio():
    assert measured(noise(48000), 48000) == (24000, 24000)
    sos = signal.cheby1(8, 0.05, 16000, fs=44100, output="sos")
    cutoff, top = measured(signal.sosfiltfilt(sos, noise(44100)).astype(np.float32), 44100)
    assert top <= cutoff and top >= 0.9 * 16000
    # all of it at the Nyquist frequency, inside the smoothing's edge: still content up to the top
    assert measured((0.1 * (-1.0) ** np.arange(48000)).astype(np.float32), 48000)[1] == 24000
    silence = SpectrumAccumulator()
    silence.update(np.zeros((1, 48000), np.float32))
    assert silence.content_top(48000) == 24000
