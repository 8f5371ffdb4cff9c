import numpy as np
import pytest
import torch

from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models.schedule import SAMPLERS, make_sampler
from tests.conftest import band_error_db, band_power_db, tone_mix


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def band_energy_db(audio: np.ndarray, sample_rate: int, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size))) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / sample_rate)
    return 10 * np.log10(spectrum[(freqs >= low_hz) & (freqs < high_hz)].sum() + 1e-20)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("steps", [1, 2, 8])
def test_every_sampler_returns_finite_audio_of_the_right_length(tiny_pipeline, name, steps):
    audio = tone_mix(16000, 0.2)
    tiny_pipeline.scheduler = make_sampler(name, tiny_pipeline.scheduler.config)
    out = tiny_pipeline(audio, 16000, num_inference_steps=steps, generator=seeded())
    assert out.audios.shape == (round(audio.size * 48000 / 16000),)
    assert np.isfinite(out.audios).all()
    assert out.model_evaluations == (2 * steps - 1 if name == "heun" else steps)


@pytest.mark.parametrize(
    "input_rate,target_rate,length",
    [(16000, 48000, 3201), (22050, 44100, 4409), (8000, 48000, 799), (44100, 48000, 4411)],
)
def test_output_length_is_exact(tiny_pipeline, input_rate, target_rate, length):
    audio = np.random.default_rng(0).standard_normal(length).astype(np.float32) * 0.1
    out = tiny_pipeline(audio, input_rate, target_rate=target_rate, num_inference_steps=1, generator=seeded())
    assert out.audios.shape == (round(length * target_rate / input_rate),)
    assert out.sample_rate == target_rate


def test_save_load_round_trip_is_bit_identical(tiny_pipeline, tmp_path):
    audio = tone_mix(16000, 0.25)
    before = tiny_pipeline(audio, 16000, num_inference_steps=4, generator=seeded(7)).audios
    tiny_pipeline.save_pretrained(tmp_path / "model")
    assert (tmp_path / "model" / "denoiser" / "config.json").is_file()
    assert (tmp_path / "model" / "denoiser" / "diffusion_pytorch_model.safetensors").is_file()
    assert (tmp_path / "model" / "scheduler" / "scheduler_config.json").is_file()
    loaded = NuWavePipeline.from_pretrained(tmp_path / "model")
    after = loaded(audio, 16000, num_inference_steps=4, generator=seeded(7)).audios
    np.testing.assert_array_equal(before, after)


def test_seed_makes_sampling_deterministic(tiny_pipeline):
    audio = tone_mix(12000, 0.25)
    first = tiny_pipeline(audio, 12000, num_inference_steps=3, generator=seeded(1)).audios
    again = tiny_pipeline(audio, 12000, num_inference_steps=3, generator=seeded(1)).audios
    other = tiny_pipeline(audio, 12000, num_inference_steps=3, generator=seeded(2)).audios
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_known_band_is_kept_and_a_band_is_added(tiny_pipeline):
    audio = tone_mix(16000, 1.0)
    reference = tiny_pipeline(audio, 16000, num_inference_steps=1, cutoff=8000, generator=seeded()).audios
    raw = tiny_pipeline(audio, 16000, num_inference_steps=1, keep_known_band=False, generator=seeded()).audios
    from nuwave.audio.dsp import resample

    sinc = resample(audio, 16000, 48000)
    # Below the crossover (0.94 x cutoff) the output is the input: the difference is > 60 dB down.
    kept = band_energy_db(reference - sinc, 48000, 0, 7000) - band_energy_db(sinc, 48000, 0, 7000)
    damaged = band_energy_db(raw - sinc, 48000, 0, 7000) - band_energy_db(sinc, 48000, 0, 7000)
    assert kept < -60
    assert damaged > kept + 20
    # Above the cutoff the model added a band that the input does not have.
    assert band_energy_db(reference, 48000, 9000, 24000) > band_energy_db(sinc, 48000, 9000, 24000) + 20


@pytest.mark.parametrize("shape", [(4000,), (2, 4000), (3, 2, 4000), (1, 6, 4000)])
def test_mono_stereo_multichannel_and_batched_inputs(tiny_pipeline, shape):
    audio = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.1
    out = tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded())
    assert out.audios.shape == (*shape[:-1], 12000)
    assert np.isfinite(out.audios).all()


def test_torch_input_gives_torch_output(tiny_pipeline):
    audio = torch.from_numpy(tone_mix(16000, 0.1, channels=2))
    out = tiny_pipeline(audio, 16000, num_inference_steps=1, generator=seeded())
    assert isinstance(out.audios, torch.Tensor) and out.audios.shape == (2, 4800)


def test_channel_modes(tiny_pipeline):
    mono = tone_mix(16000, 0.2)
    other = tone_mix(16000, 0.2, seed=5)

    def run(stereo, mode):
        return tiny_pipeline(np.stack(stereo), 16000, num_inference_steps=2, generator=seeded(),
                             channel_mode=mode).audios

    # mid-side: identical channels stay identical, opposite channels stay opposite, to the bit
    same = run([mono, mono], "mid-side")
    np.testing.assert_array_equal(same[0], same[1])
    opposite = run([mono, -mono], "mid-side")
    np.testing.assert_array_equal(opposite[0], -opposite[1])
    # unrelated channels: each keeps its own input below the cutoff
    unrelated = run([mono, other], "mid-side")
    assert np.corrcoef(unrelated[0], unrelated[1])[0, 1] < 0.5
    shared = run([mono, mono], "shared")
    np.testing.assert_allclose(shared[0], shared[1], atol=1e-6)
    independent = run([mono, mono], "independent")
    assert not np.allclose(independent[0], independent[1], atol=1e-4)
    with pytest.raises(ValueError, match="channel mode"):
        run([mono, mono], "surround")


def test_mid_side_gives_each_channel_its_own_band_level(tiny_pipeline):
    """Unrelated channels, one 60 dB under the other: generated as mid and side alone, both channels would get
    the band power of the loud one (mid and side both carry it); fitted per channel, the quiet one's band is as
    quiet as its input (a model with random weights: its envelope only roughly follows the level)."""
    loud = tone_mix(16000, 0.6)
    quiet = 1e-3 * tone_mix(16000, 0.6, seed=5)
    out = tiny_pipeline(np.stack([loud, quiet]), 16000, num_inference_steps=2, temperature=1.0,
                        generator=seeded()).audios

    def band_power(channel: np.ndarray) -> float:  # above the input's Nyquist
        spectrum = np.fft.rfft(channel)
        return float(np.mean(np.abs(spectrum[np.fft.rfftfreq(channel.size, 1 / 48000) > 9000]) ** 2))

    assert 10 * np.log10(band_power(out[1]) / band_power(out[0])) < -20  # -3 dB without the per-channel fit


@pytest.mark.parametrize("channel_mode", ["mid-side", "independent"])
def test_a_quiet_channel_takes_no_errors_at_a_loud_one_s_level_under_its_cutoff(tiny_pipeline, channel_mode):
    """Unrelated channels, one 60 dB under the other. As mid and side (one gain for the pair), both carry the loud
    one, and their errors, at its level, do not cancel in the quiet channel: the top of the known band, which the
    merge takes from the generated signal, is brought to each channel's own level with its band above the cutoff.
    Generated on its own (independent), the quiet channel has its own gain, so it is not generated 60 dB under
    the working level, where the model's errors would be at the loud one's."""
    loud = tone_mix(16000, 0.6)
    quiet = 1e-3 * tone_mix(16000, 0.6, seed=5)
    out = tiny_pipeline(np.stack([loud, quiet]), 16000, num_inference_steps=2, temperature=1.0,
                        generator=seeded(), channel_mode=channel_mode).audios
    handover = (0.94 * 8000, 8000)  # the resampler's transition band under the cutoff
    gap = band_power_db(out[1], 48000, *handover) - band_power_db(out[0], 48000, *handover)
    # -28 dB (a model with random weights: its envelope only roughly follows the level); -12 dB (mid and side) or
    # -8 dB (independent) when the quiet channel takes errors there at the loud one's level
    assert gap < -20


@pytest.mark.parametrize("channel_mode", ["independent", "shared"])
@pytest.mark.parametrize("level", [None, (0.3, 3e-4)])
def test_channels_not_paired_as_mid_side_are_each_generated_as_the_mono_recording_they_are(
        tiny_pipeline, channel_mode, level):
    """Every channel its own gain (its own RMS, or the recording's given per channel): a channel 60 dB under
    another comes out as it would alone, with the same noise."""
    audio = np.stack([tone_mix(16000, 0.3), 1e-3 * tone_mix(16000, 0.3, seed=5)])
    noise = torch.randn(1, 2, 3 * audio.shape[-1], generator=seeded())
    if channel_mode == "shared":
        noise = noise[:, :1]
    out = tiny_pipeline(audio[None], 16000, num_inference_steps=2, temperature=1.0, noise=noise, level=level,
                        channel_mode=channel_mode).audios[0]
    for channel in range(2):
        alone = tiny_pipeline(audio[None, channel:channel + 1], 16000, num_inference_steps=2, temperature=1.0,
                              noise=noise[:, channel:channel + 1] if channel_mode == "independent" else noise,
                              level=None if level is None else level[channel]).audios[0, 0]
        assert np.abs(out[channel] - alone).max() <= 1e-4 * np.abs(alone).max()


@pytest.mark.parametrize("level", [(0.1, 0.2, 0.3), -0.1, float("nan"), (0.1, float("inf"))])
def test_a_level_that_fits_no_channel_is_refused(tiny_pipeline, level):
    with pytest.raises(ValueError, match="level"):
        tiny_pipeline(np.stack([tone_mix(16000, 0.1)] * 2), 16000, num_inference_steps=1, level=level)


def test_digital_silence_stays_silent(tiny_pipeline):
    audio = tone_mix(16000, 0.6)
    audio[3200:6400] = 0.0  # 200 ms of digital silence inside the recording
    out = tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded()).audios
    inside = out[3 * 3200 + 2048 : 3 * 6400 - 2048]  # away from the edges by one merge window
    assert np.sqrt(np.mean(inside**2)) < 10 ** (-90 / 20)
    assert np.sqrt(np.mean(out[:3 * 3200 - 2048] ** 2)) > 1e-2


def test_full_band_input_is_only_resampled(tiny_pipeline):
    audio = tone_mix(48000, 0.1)
    out = tiny_pipeline(audio, 48000, num_inference_steps=8, generator=seeded())
    assert out.model_evaluations == 0
    np.testing.assert_allclose(out.audios, audio, atol=1e-6)


def tone_db(audio: np.ndarray, sample_rate: int, hz: float) -> float:
    """The level (dB) of a tone at `hz` in `audio`: its Hann-windowed spectrum's peak within 50 Hz."""
    return band_energy_db(audio, sample_rate, hz - 50, hz + 50)


@pytest.mark.parametrize("cutoff", [None, 21500.0])  # full band; a cutoff over the tone, something to generate
def test_the_top_of_a_44k_input_survives_the_model_rate_and_back(tiny_pipeline, cutoff):
    # soxr's filter is flat to 93% of the lower Nyquist frequency (20.5 kHz at 44.1 kHz): through the model's
    # 48 kHz and back it took 6 dB or more off a 21.2 kHz tone; the sharp filter is flat to 97.5% (21.5 kHz).
    rate = 44100
    t = np.arange(rate // 2) / rate
    audio = (0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 21200 * t)).astype(np.float32)
    out = tiny_pipeline(audio, rate, target_rate=rate, cutoff=cutoff, num_inference_steps=1, generator=seeded()).audios
    assert out.shape == audio.shape
    middle = slice(rate // 8, rate // 2 - rate // 8)  # away from the edges
    assert abs(tone_db(out[middle], rate, 21200) - tone_db(audio[middle], rate, 21200)) < 1.0


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"num_inference_steps": 0}, "steps"),
        ({"num_inference_steps": 1001}, "steps"),
        ({"callback_on_step_end_tensor_inputs": ["latents"]}, "latents"),
        ({"cutoff": 9000}, "Nyquist"),
        ({"temperature": 1.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
    ],
)
def test_bad_arguments_are_refused(tiny_pipeline, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_pipeline(tone_mix(16000, 0.1), 16000, **kwargs)


def test_non_finite_audio_is_refused(tiny_pipeline):
    audio = tone_mix(16000, 0.1)
    audio[10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tiny_pipeline(audio, 16000)


def test_unknown_sampler_name_is_refused():
    with pytest.raises(ValueError, match="unknown sampler"):
        make_sampler("nope")


def test_temperature_zero_is_the_one_step_mean_and_blends_linearly_to_the_sample(tiny_pipeline):
    audio = tone_mix(16000, 0.5)
    tiny_pipeline.denoiser.envelope = None  # the envelope's band gains are not linear; the blend itself is

    def run(steps, temperature):  # the model's own mean (the phase lock replaces it by the input's excitation)
        return tiny_pipeline(audio, 16000, num_inference_steps=steps, temperature=temperature,
                             generator=seeded(3), keep_known_band=False, phase_lock=False).audios

    mean, sample, half = run(6, 0.0), run(6, 1.0), run(6, 0.5)
    # The x0 estimate at the first, pure-noise step is what a one-step sampler returns.
    np.testing.assert_allclose(mean, run(1, 1.0), atol=1e-5)
    assert not np.allclose(mean, sample, atol=1e-3)
    # Everything after the blend (untilting, resampling) is linear; the merge is not (it hands the input's top over
    # where the input is attenuated), so it is left out here.
    np.testing.assert_allclose(half, mean + 0.5 * (sample - mean), atol=1e-5)


def test_top_leaves_nothing_above_it(tiny_pipeline):
    audio = tone_mix(16000, 0.5)
    out = tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded(), top=12000.0).audios
    free = tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded()).audios
    window = np.hanning(out.size)  # the clip's own edges would leak over every frequency
    spectrum = np.abs(np.fft.rfft(out * window)) ** 2
    freqs = np.fft.rfftfreq(out.size, 1 / 48000)
    assert spectrum[freqs > 12500].sum() < 1e-6 * spectrum[(freqs > 8000) & (freqs < 12000)].sum()
    free_spectrum = np.abs(np.fft.rfft(free * window)) ** 2
    assert free_spectrum[freqs > 12500].sum() > 1e-3 * free_spectrum[(freqs > 8000) & (freqs < 12000)].sum()
    with pytest.raises(ValueError, match="above the cutoff"):
        tiny_pipeline(audio, 16000, top=7000.0)


def test_the_band_above_20_khz_is_hedged_unless_the_top_is_known(tiny_pipeline):
    """With no `top`, a rate input's band above 20.5 kHz comes out `top_hedge_db` under the unhedged one, the same
    under 19.5 kHz; given a top, or under a codec's cut, nothing is hedged."""
    audio = tone_mix(16000, 0.5)

    def run(**options):
        return tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded(), **options).audios

    hedged, plain = run(), run(top_hedge_db=0.0)
    assert band_energy_db(hedged, 48000, 21000, 23500) - band_energy_db(plain, 48000, 21000, 23500) == \
        pytest.approx(-10.0, abs=0.5)
    assert band_energy_db(hedged, 48000, 9000, 19000) == pytest.approx(band_energy_db(plain, 48000, 9000, 19000),
                                                                       abs=0.05)
    assert band_energy_db(run(top_hedge_db=20.0), 48000, 21000, 23500) < band_energy_db(hedged, 48000, 21000,
                                                                                        23500) - 8
    np.testing.assert_array_equal(run(top=22000.0), run(top=22000.0, top_hedge_db=0.0))
    np.testing.assert_array_equal(run(codec_cut=True), run(codec_cut=True, top_hedge_db=0.0))
    with pytest.raises(ValueError, match="top_hedge_db"):
        run(top_hedge_db=-1.0)


def test_top_hedge_gain_known_answers():
    from nuwave.models.envelope import top_hedge_gain

    gain = top_hedge_gain(torch.tensor([8000 / 24000, 21000 / 24000]), 481, 48000, 10.0, (19500.0, 20500.0))
    freqs = np.linspace(0, 24000, 481)
    db = 20 * np.log10(gain.numpy())
    assert np.all(db[0][freqs <= 19500] == 0) and np.allclose(db[0][freqs >= 20500], -10, atol=1e-5)
    assert db[0][freqs == 20000] == pytest.approx(-5.0, abs=1e-4)
    assert np.all(db[1][freqs <= 21000] == 0) and np.allclose(db[1][freqs > 21000], -10, atol=1e-5)


def test_the_condition_is_encoded_once_per_sampling(tiny_pipeline, monkeypatch):
    """The condition's share of the denoiser's input is computed once, not at each of the sampler's steps."""
    denoiser = tiny_pipeline.denoiser
    calls = []
    encode = denoiser.encode_condition
    monkeypatch.setattr(denoiser, "encode_condition", lambda cond: calls.append(cond.shape) or encode(cond))
    audio = tone_mix(16000, 0.5)
    out = tiny_pipeline(audio, 16000, num_inference_steps=4, generator=torch.Generator().manual_seed(0))
    assert calls == [(1, 1, 24000)] and out.model_evaluations == 4


def test_the_known_band_is_the_input_up_to_its_top_percents(tiny_pipeline):
    """The model's condition is resampled by soxr as in training (flat to 93% of the input's Nyquist frequency);
    the band kept from the input is resampled sharply (`resample_sharp`), so its top is not lost."""
    from nuwave.audio.dsp import resample, resample_sharp

    noise = np.random.default_rng(0).standard_normal(32000).astype(np.float32) * 0.1  # 2 s at 16 kHz, white

    def top_db(audio):  # the level of 7.5-7.75 kHz against 1-6 kHz
        return band_power_db(audio, 48000, 7500, 7750) - band_power_db(audio, 48000, 1000, 6000)

    assert top_db(resample(noise, 16000, 48000)) < -3
    assert abs(top_db(resample_sharp(noise, 16000, 48000))) < 0.5
    out = tiny_pipeline(noise, 16000, num_inference_steps=2, generator=torch.Generator().manual_seed(0)).audios
    assert abs(top_db(out)) < 0.5
    assert resample_sharp(noise, 16000, 44100).shape == (88200,)
    np.testing.assert_allclose(resample_sharp(noise, 16000, 16000, 100), noise[:100])


def test_the_merge_hands_over_an_attenuated_top_and_keeps_an_intact_one():
    """Under a rate's cutoff, the resampler's transition band is the input's where the input is intact, and the
    generated signal's where the input lies far under it (a gentle low-pass, soxr's roll-off)."""
    from nuwave.audio.dsp import RESAMPLER_TRANSITION, merge_known_band

    rng = np.random.default_rng(0)
    other, noise = (torch.from_numpy(rng.standard_normal((1, 1, 48000)).astype(np.float32)) for _ in range(2))
    generated = other + 0.3 * noise  # the model's estimate of the band: close to the input where it is intact
    band = torch.tensor([0.5])  # 12 kHz at 48 kHz

    def share_db(output, source, low=11200.0, high=11800.0):  # the error against `source` in the band
        return band_error_db(output.numpy(), source.numpy(), 48000, low, high)

    intact = merge_known_band(generated, other, band, 0.01, RESAMPLER_TRANSITION)
    faint = merge_known_band(generated, 0.05 * other, band, 0.01, RESAMPLER_TRANSITION)
    assert share_db(intact, other) < -30  # kept
    # handed over as the resampler's transition band (the input's share fading out from 94% of the cutoff)
    assert share_db(faint, merge_known_band(generated, 0.05 * other, band, RESAMPLER_TRANSITION)) < -30
    assert share_db(faint, other) > -10
    assert share_db(faint, 0.05 * other, 2000.0, 10000.0) < -30  # the band under the transition is always kept


def test_the_merge_keeps_the_valleys_and_quiet_frames_of_an_intact_top():
    """Frames where an intact input is quiet in the resampler's transition band (a note's decay, a pause, a
    spectral valley) stay the input's: the roll-off the merge hands over is the window's, not a frame's."""
    from nuwave.audio.dsp import RESAMPLER_TRANSITION, merge_known_band

    rng = np.random.default_rng(1)
    other, noise = (torch.from_numpy(rng.standard_normal((1, 1, 48000)).astype(np.float32)) for _ in range(2))
    envelope = torch.ones(48000)
    envelope[24000:] = 0.01  # the second half 40 dB down: the input is 6 dB and more under the estimate there
    known = other * envelope
    generated = other + 0.3 * noise
    band = torch.tensor([0.5])
    out = merge_known_band(generated, known, band, 0.01, RESAMPLER_TRANSITION)
    quiet = slice(30000, 46000)
    window = np.hanning(16000)  # the band above the cutoff, 40 dB louder, must not leak into the measure
    error = band_error_db(out[0, 0, quiet].numpy() * window, known[0, 0, quiet].numpy() * window, 48000, 11200.0,
                          11800.0)
    assert error < -20


def test_the_sharp_resampler_keeps_odd_rates_exact():
    """An odd rate is resampled at its exact ratio (no drift of the known band against the generated one)."""
    from nuwave.audio.dsp import resample_sharp

    t = np.arange(7999 * 2) / 7999
    tone = np.sin(2 * np.pi * 1000.0 * t).astype(np.float32)
    out = resample_sharp(tone, 7999, 48000)
    assert out.shape == (96000,)
    expected = np.sin(2 * np.pi * 1000.0 * np.arange(96000) / 48000)
    np.testing.assert_allclose(out[4000:-4000], expected[4000:-4000], atol=1e-3)


def band_above(audio: np.ndarray, rate: int, low: float, high: float) -> np.ndarray:
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(audio.size, 1 / rate)
    return np.fft.irfft(spectrum * ((freqs > low) & (freqs < high)), n=audio.size)


def test_phase_lock_makes_the_band_follow_the_input_s_odd_excitation(tiny_pipeline):
    """With `phase_lock` the band above the cutoff is minus the input's odd excitation brought to the envelope: on
    the shipped model, a sawtooth from 8 kHz gets a band that correlates over 0.9 with it, where the model's own
    band does not (under 0.1); the default locks a rate's cutoff and leaves a codec's alone; a silent input stays
    silent."""
    from nuwave.audio.dsp import odd_excitation

    pipe = NuWavePipeline.from_pretrained("nuwave-base")
    pipe.set_progress_bar_config(disable=True)
    rate, out_rate = 8000, 48000
    t = np.arange(rate) / rate
    audio = (0.2 * sum(np.sin(2 * np.pi * 200 * k * t) / k for k in range(1, 19))).astype(np.float32)  # to 3.6 kHz
    up = np.fft.irfft(np.fft.rfft(audio), n=audio.size * 6) * 6  # the input at 48 kHz (nothing to alias)
    excitation = band_above(-odd_excitation(torch.from_numpy(up)[None], 512)[0].numpy(), out_rate, 4200, 10000)

    def correlation(**options):
        output = pipe(audio, rate, out_rate, generator=torch.Generator().manual_seed(0), **options).audios
        band = band_above(np.asarray(output).ravel(), out_rate, 4200, 10000)
        return float(np.sum(band * excitation) / np.sqrt(np.sum(band**2) * np.sum(excitation**2)))

    assert correlation(phase_lock=True) > 0.9
    assert correlation(phase_lock=True, temperature=0.0) > 0.9
    assert abs(correlation(phase_lock=False)) < 0.1
    for codec_cut in (False, True):  # the default is the explicit setting `not codec_cut`, bit for bit
        def run(**options):
            return tiny_pipeline(audio, rate, out_rate, codec_cut=codec_cut,
                                 generator=torch.Generator().manual_seed(0), **options).audios
        np.testing.assert_array_equal(run(), run(phase_lock=not codec_cut))
        assert not np.allclose(run(), run(phase_lock=codec_cut))
    silent = tiny_pipeline(np.zeros(rate, np.float32), rate, out_rate, phase_lock=True,
                           generator=torch.Generator().manual_seed(0)).audios
    assert np.abs(silent).max() == 0.0


def test_phase_lock_takes_each_stereo_channel_s_excitation_from_that_channel():
    """Two unrelated voices (sawtooths at 200 and 310 Hz) as left and right, generated as mid and side: each
    channel's band follows minus its own excitation (correlation over 0.7, as a mono voice's does over 0.9), which
    the cube of the mid, whose cross products belong to neither, does not reach."""
    from nuwave.audio.dsp import odd_excitation

    pipe = NuWavePipeline.from_pretrained("nuwave-base")
    pipe.set_progress_bar_config(disable=True)
    rate, out_rate = 8000, 48000
    t = np.arange(rate) / rate
    voices = [0.2 * sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, int(3600 / pitch) + 1))
              for pitch in (200, 310)]
    audio = np.stack(voices).astype(np.float32)
    output = pipe(audio, rate, out_rate, generator=torch.Generator().manual_seed(0)).audios
    for channel in range(2):
        up = np.fft.irfft(np.fft.rfft(audio[channel]), n=rate * 6) * 6
        own = band_above(-odd_excitation(torch.from_numpy(up)[None], 512)[0].numpy(), out_rate, 4200, 10000)
        band = band_above(np.asarray(output[channel]), out_rate, 4200, 10000)
        assert float(np.sum(band * own) / np.sqrt(np.sum(band**2) * np.sum(own**2))) > 0.7


def test_phase_lock_reaches_the_pipeline_from_the_upsample_settings(tiny_pipeline):
    from nuwave.inference.upsample import UpsampleSettings, upsample_array

    audio = tone_mix(16000, 1.0)[None]
    off = upsample_array(tiny_pipeline, audio, 16000, UpsampleSettings(target_rate=48000, phase_lock=False))[0]
    on = upsample_array(tiny_pipeline, audio, 16000, UpsampleSettings(target_rate=48000, phase_lock=True))[0]
    default = upsample_array(tiny_pipeline, audio, 16000, UpsampleSettings(target_rate=48000))[0]
    assert off.shape == on.shape and not np.allclose(off, on)
    np.testing.assert_array_equal(default, on)  # a WAV-like input: a rate's cutoff, locked by default


def test_linear_prediction_residual_whitens_an_autoregressive_process_the_same_in_any_chunk():
    """Noise through a resonance (x[n] = 1.6 x[n-1] - 0.9 x[n-2] + w[n]): the residual is the noise w again; fitted
    at every sample, a chunk's residual is the whole signal's away from the chunk's edges; silence stays silent;
    channels are independent."""
    from scipy.signal import lfilter

    from nuwave.audio.dsp import linear_prediction_residual

    white = np.random.default_rng(0).standard_normal(48000)
    process = lfilter([1.0], [1.0, -1.6, 0.9], white)
    residual = linear_prediction_residual(process, 8, 400)
    middle = slice(1000, -1000)
    assert residual.shape == process.shape
    assert np.corrcoef(residual[middle], white[middle])[0, 1] > 0.97
    assert 0.8 < np.var(residual[middle]) / np.var(white[middle]) < 1.2
    chunk = linear_prediction_residual(process[10000:30000], 8, 400)
    np.testing.assert_allclose(chunk[1000:-1000], residual[11000:29000], atol=1e-5 * np.abs(residual).max())
    assert np.abs(linear_prediction_residual(np.zeros(1000), 8, 400)).max() == 0.0
    both = linear_prediction_residual(np.stack([process, np.zeros_like(process)]), 8, 400)
    np.testing.assert_allclose(both[0], residual, atol=1e-6)
    assert np.abs(both[1]).max() == 0.0


def test_local_power_is_the_moving_mean_over_what_lies_inside_the_signal():
    """`local_power` (the odd excitation's divisor) from its running sum: the centred moving mean of the square over
    `window | 1` samples, fewer at the ends; in a quiet passage after a loud one within 1e-15 of the loud one's
    energy (the running sum's rounding), far under the excitation's floor."""
    from nuwave.audio.dsp import local_power

    rng = np.random.default_rng(0)
    audio = rng.standard_normal((2, 700))
    audio[:, 350:] *= 1e-4  # a passage 80 dB quieter after a loud one
    for window in (1, 8, 9, 512, 2000):
        half = (window | 1) // 2
        expected = np.stack([[np.mean(channel[max(0, i - half) : i + half + 1] ** 2) for i in range(channel.size)]
                             for channel in audio])
        measured = local_power(torch.from_numpy(audio).float(), window).double().numpy()
        np.testing.assert_allclose(measured, expected, rtol=1e-4, atol=1e-15 * np.sum(audio[:, :350] ** 2))
        assert np.all(measured >= 0)


def test_residual_mix_follows_the_cutoff():
    """The residual's excitation has no weight at a 4 kHz cutoff, equal weight at 8 kHz, most at 12 kHz and above;
    the two weights always make unit power."""
    from nuwave.inference.pipeline import residual_mix

    own, other = residual_mix(np.array([2000.0, 4000.0, 8000.0, 12000.0, 20000.0]))
    np.testing.assert_allclose(other[:2], 0.0, atol=1e-12)
    assert other[2] == pytest.approx(np.sin(np.pi / 4)) and own[2] == pytest.approx(np.cos(np.pi / 4))
    assert other[3] == other[4] > other[2]
    np.testing.assert_allclose(own**2 + other**2, 1.0)
    assert np.all(np.diff(residual_mix(np.geomspace(4000, 12000, 20))[1]) > 0)


def test_the_residual_s_excitation_is_used_where_the_mix_gives_it_weight(monkeypatch):
    """From 24 kHz (a 12 kHz cutoff) the locked band changes when the residual's weight is taken away; from 8 kHz
    (weight 0) nothing changes."""
    import nuwave.inference.pipeline as pipeline_module

    pipe = NuWavePipeline.from_pretrained("nuwave-base")
    pipe.set_progress_bar_config(disable=True)

    def run(rate):
        audio = tone_mix(rate, 0.5)
        return pipe(audio, rate, 48000, num_inference_steps=1, generator=torch.Generator().manual_seed(0)).audios

    default = {rate: run(rate) for rate in (8000, 24000)}
    monkeypatch.setattr(pipeline_module, "RESIDUAL_MIX", ((4000.0, 0.0), (12000.0, 0.0)))
    np.testing.assert_array_equal(run(8000), default[8000])
    assert not np.allclose(run(24000), default[24000], atol=1e-4)
