"""Each degradation alone: length, what is left above the cutoff, codec alignment."""

import numpy as np
import pytest

from nuwave.audio.degrade import (
    FILTER_KINDS,
    Degradation,
    DegradationRange,
    codec,
    encode,
    lowpass,
    mp3,
    mp3_level,
    random_degradation,
    random_tilt,
    round_trip,
    spectral_tilt,
)


def white(seconds=1.0, rate=48000, seed=0):
    return (0.3 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def energy_above_db(output, source, cutoff, rate=48000):
    """Energy above `cutoff` of `output` relative to that of `source` (Hann-windowed spectra), in dB."""
    window = np.hanning(source.size)
    freqs = np.fft.rfftfreq(source.size, 1 / rate)
    band = freqs > cutoff
    power = lambda x: np.sum(np.abs(np.fft.rfft(x * window))[band] ** 2)
    return 10 * np.log10(power(output) / power(source))


@pytest.mark.parametrize("kind", FILTER_KINDS)
@pytest.mark.parametrize("zero_phase", [True, False])
@pytest.mark.parametrize("cutoff", [2500.0, 7321.0, 15000.0])
def test_lowpass_and_round_trip_leave_nothing_above_the_cutoff(kind, zero_phase, cutoff):
    source = white()
    filtered = lowpass(source, 48000, cutoff, kind, order=4, ripple=0.5, zero_phase=zero_phase)
    degraded = round_trip(filtered, 48000, 2 * cutoff)
    assert filtered.shape == degraded.shape == source.shape
    assert energy_above_db(degraded, source, cutoff) < -60


def test_round_trip_keeps_the_band_below():
    source = white()
    degraded = round_trip(source, 48000, 16000)
    assert abs(energy_above_db(degraded, source, 0) - energy_above_db(source, source, 0) - 10 * np.log10(
        7600 / 24000)) < 1.0  # about the share of the band below 7.6 kHz


@pytest.mark.parametrize("name", ["mp3", "vorbis"])
@pytest.mark.parametrize("shape", [(48000,), (2, 48000)])
def test_codec_round_trip_keeps_length_and_alignment(name, shape):
    rate = 48000
    t = np.arange(shape[-1]) / rate
    burst = (0.4 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    source = np.broadcast_to(burst, shape).copy()
    decoded = codec(source, rate, name, level=0.3)
    assert decoded.shape == source.shape
    a, b = source.reshape(-1, shape[-1])[0], decoded.reshape(-1, shape[-1])[0]
    lags = range(-200, 201)
    middle = slice(5000, 40000)
    scores = [np.dot(a[middle], np.roll(b, -lag)[middle]) for lag in lags]
    assert list(lags)[int(np.argmax(scores))] == 0
    assert np.corrcoef(a[middle], b[middle])[0, 1] > 0.95


@pytest.mark.parametrize("rate", [44100, 48000])
def test_mp3_protocol_is_128_kbps_and_band_limited(rate):
    source = white(4.0, rate)
    kbps = len(encode(source, rate, "mp3", mp3_level(128), constant=True)) * 8 / 4.0 / 1000
    assert 120 <= kbps <= 136
    decoded = mp3(source, rate)
    assert decoded.shape == source.shape
    assert energy_above_db(decoded, source, 20500, rate) < -15  # LAME's low-pass for 128 kbit/s


def test_mp3_conditions_by_bit_rate():
    assert Degradation.codec_condition("mp3") == Degradation("mp3", kbps=128)
    assert Degradation.codec_condition("mp3-64kbps") == Degradation("mp3", kbps=64)
    for bad in ("mp3-64k", "mp3-fast", "mp3-0kbps", "mp3-500kbps", "aac-64kbps"):
        with pytest.raises(ValueError, match="mp3-<8 to 320>kbps"):
            Degradation.codec_condition(bad)
    source = white(2.0, 44100)
    decoded, rate = Degradation("mp3", kbps=64).apply(source, 44100)
    assert rate == 44100 and decoded.shape == source.shape
    # LAME low-passes a 64 kbit/s stream far under its 128 kbit/s cut (about 20 kHz)
    assert energy_above_db(decoded, source, 17500, 44100) < -40
    assert energy_above_db(mp3(source, 44100), source, 17500, 44100) > -10


def test_standard_protocol_output_rate_and_length():
    low, rate = Degradation("standard", 16000).apply(white(1.0), 48000)
    assert rate == 16000 and low.shape == (16000,)


def test_random_degradation_is_a_pure_function_of_the_generator():
    source = white(0.5)
    first = random_degradation(source, 48000, np.random.default_rng(5), DegradationRange(codec_probability=0.5))
    again = random_degradation(source, 48000, np.random.default_rng(5), DegradationRange(codec_probability=0.5))
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    cutoffs = [random_degradation(source, 48000, np.random.default_rng(s), DegradationRange(2000, 22000, 0.0))[1]
               for s in range(30)]
    assert 2000 <= min(cutoffs) and max(cutoffs) <= 22000 and np.std(cutoffs) > 1000


def test_a_plain_resampling_keeps_the_top_under_the_cutoff_that_a_low_pass_takes_off():
    """`resample_probability` 1: the condition is the soxr round trip through twice the drawn cutoff alone (flat
    to just under it); 0, the default, leaves the random low-pass in."""
    source = white(1.0)
    for seed in range(6):
        plain, cutoff = random_degradation(source, 48000, np.random.default_rng(seed),
                                           DegradationRange(codec_probability=0.0, resample_probability=1.0))
        np.testing.assert_array_equal(plain, round_trip(source, 48000, 2 * cutoff))
        default = random_degradation(source, 48000, np.random.default_rng(seed),
                                     DegradationRange(codec_probability=0.0))
        explicit = random_degradation(source, 48000, np.random.default_rng(seed),
                                      DegradationRange(codec_probability=0.0, resample_probability=0.0))
        np.testing.assert_array_equal(default[0], explicit[0])
        assert default[1] == explicit[1] == cutoff
    # the top 15% under the cutoff: a plain resampling keeps its power, the random low-passes take some off
    freqs = np.fft.rfftfreq(source.size, 1 / 48000)
    top = lambda x, c: np.mean(np.abs(np.fft.rfft(x))[(freqs > 0.85 * c) & (freqs < 0.95 * c)] ** 2)
    losses = []
    for seed in range(12):
        rng = lambda: np.random.default_rng(seed)
        plain, cutoff = random_degradation(source, 48000, rng(), DegradationRange(2000, 20000, 0.0, 1.0))
        filtered, _ = random_degradation(source, 48000, rng(), DegradationRange(2000, 20000, 0.0, 0.0))
        assert abs(10 * np.log10(top(plain, cutoff) / top(source, cutoff))) < 0.5
        losses.append(10 * np.log10(top(source, cutoff) / top(filtered, cutoff)))
    assert np.mean(losses) > 1.0


@pytest.mark.parametrize("slope", [3.0, -2.0])
def test_spectral_tilt_changes_each_octave_above_its_corner_by_its_slope(slope):
    source = white(2.0)
    tilted = spectral_tilt(source, 48000, slope, 2000.0)
    freqs = np.fft.rfftfreq(source.size, 1 / 48000)
    power = lambda x, centre: np.mean(np.abs(np.fft.rfft(x))[(freqs > 0.95 * centre) & (freqs < 1.05 * centre)] ** 2)
    for centre, octaves in ((800.0, 0.0), (4000.0, 1.0), (8000.0, 2.0), (16000.0, 3.0)):
        change = 10 * np.log10(power(tilted, centre) / power(source, centre))
        assert abs(change - slope * octaves) < 0.3
    # aligned with its input: a gentle tilt leaves the waveform nearly as it was
    assert np.corrcoef(source, spectral_tilt(source, 48000, 0.3, 2000.0))[0, 1] > 0.99


def test_random_tilt_is_bounded_and_a_pure_function_of_the_generator():
    source = white(1.0)
    freqs = np.fft.rfftfreq(source.size, 1 / 48000)
    band = (freqs > 20000) & (freqs < 22000)
    changes = []
    for seed in range(12):
        out = random_tilt(source, 48000, np.random.default_rng(seed), 3.0)
        assert out.shape == source.shape and out.dtype == np.float32
        np.testing.assert_array_equal(out, random_tilt(source, 48000, np.random.default_rng(seed), 3.0))
        changes.append(10 * np.log10(np.mean(np.abs(np.fft.rfft(out))[band] ** 2)
                                     / np.mean(np.abs(np.fft.rfft(source))[band] ** 2)))
    # at most 3 dB per octave over the 1.4-3.5 octaves from a 2-8 kHz corner to 21 kHz; both ways drawn
    assert max(abs(c) for c in changes) < 3.0 * np.log2(21000 / 2000) + 0.5
    assert min(changes) < -1.0 and max(changes) > 1.0


@pytest.mark.parametrize("input_rate, output_rate", [(44100, 48000), (48000, 44100), (96000, 44100)])
def test_band_limited_resampling_keeps_the_band_to_the_lower_nyquist_and_nothing_above(input_rate, output_rate):
    """A reference's band reaches the lower Nyquist frequency: a tone at 98% of it keeps its level and its phase
    on the new time grid (soxr takes it down by tens of dB), and a tone above it is gone, not folded back."""
    from nuwave.audio.dsp import resample, resample_band_limited

    nyquist = min(input_rate, output_rate) / 2
    seconds = 0.5
    t_in = np.arange(int(seconds * input_rate)) / input_rate
    t_out = np.arange(int(seconds * output_rate)) / output_rate
    kept_hz, removed_hz = 0.98 * nyquist, min(1.04 * nyquist, 0.99 * input_rate / 2)
    inner = slice(int(0.15 * output_rate), int(0.35 * output_rate))  # away from the ends' onsets
    kept = resample_band_limited(np.sin(2 * np.pi * kept_hz * t_in), input_rate, output_rate)
    assert kept.shape == t_out.shape
    np.testing.assert_allclose(kept[inner], np.sin(2 * np.pi * kept_hz * t_out)[inner], atol=2e-3)
    lost = resample(np.sin(2 * np.pi * kept_hz * t_in), input_rate, output_rate)
    assert np.sqrt(np.mean(lost[inner] ** 2)) < 0.1  # what soxr left of it: under -17 dB
    if removed_hz > nyquist:
        removed = resample_band_limited(np.sin(2 * np.pi * removed_hz * t_in), input_rate, output_rate)
        assert np.sqrt(np.mean(removed[inner] ** 2)) < 1e-3
    assert resample_band_limited(np.ones((2, 441)), 44100, 48000, 100).shape == (2, 100)
