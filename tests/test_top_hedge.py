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


def test_the_measurement_hedges_under_a_codec_cut_only_within_its_context(script, tiny_pipeline):
    import torch

    from tests.conftest import tone_mix

    top_hedge = script("top_hedge")
    audio = tone_mix(16000, 0.5)

    def band_db(out: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size))) ** 2
        freqs = np.fft.rfftfreq(out.size, 1 / 48000)
        return 10 * np.log10(spectrum[(freqs >= 21000) & (freqs < 23500)].sum())

    def run(**options):
        return tiny_pipeline(audio, 16000, num_inference_steps=2, generator=torch.Generator().manual_seed(0),
                             codec_cut=True, **options).audios

    plain = run()
    with top_hedge.hedged_under_codec_cuts():
        hedged, given_top = run(), run(top=22000.0)
    assert band_db(hedged) - band_db(plain) < -8.0
    np.testing.assert_array_equal(given_top, run(top=22000.0))  # a given top is never hedged
    np.testing.assert_array_equal(run(), plain)  # and outside the context the pipeline is itself again
