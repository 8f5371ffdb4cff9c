import numpy as np


def test_top_drop_tells_a_recording_that_ends_at_20_khz(script):
    top_hedge = script("top_hedge")
    rate = 48000
    noise = np.random.default_rng(0).standard_normal(rate * 2)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(noise.size, 1 / rate)
    ended = np.fft.irfft(spectrum * (freqs < 20000), n=noise.size)
    assert abs(top_hedge.top_drop_db(noise, rate)) < 1.0
    assert top_hedge.top_drop_db(ended, rate) < -top_hedge.ENDED_DB
    assert top_hedge.top_drop_db(np.stack([ended, noise]), rate) > -top_hedge.ENDED_DB  # one channel goes on
