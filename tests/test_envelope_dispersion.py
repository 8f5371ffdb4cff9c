import numpy as np


def test_brightness_step_of_noise_whose_octave_above_the_cutoff_is_10_db_down(script):
    dispersion = script("envelope_dispersion")
    rate, cutoff = 48000, 4000.0
    noise = np.random.default_rng(0).standard_normal(rate * 2)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(noise.size, 1 / rate)
    darker = np.fft.irfft(spectrum * np.where(freqs > cutoff, 10 ** (-10 / 20), 1.0), n=noise.size)
    assert abs(np.median(dispersion.brightness_steps(noise, cutoff, rate))) < 0.5
    assert abs(np.median(dispersion.brightness_steps(darker, cutoff, rate)) + 10.0) < 0.5


def test_active_frames_leave_out_what_lies_40_db_under_the_loudest(script):
    dispersion = script("envelope_dispersion")
    noise = np.random.default_rng(1).standard_normal(48000)
    audio = np.concatenate([noise, noise * 10 ** (-60 / 20)])
    active = dispersion.active_frames(audio)
    assert active[: active.size // 2 - 2].all() and not active[active.size // 2 + 2 :].any()


def test_a_calibrated_estimate_has_slope_rho_squared_and_pulls_frames_to_the_mean(script):
    dispersion = script("envelope_dispersion")
    rng = np.random.default_rng(2)
    estimate = -12.0 + 4.0 * rng.standard_normal(20000)  # what the input tells
    truth = estimate + 4.0 * rng.standard_normal(20000)  # and what it does not
    figures = dispersion.dispersion(truth, estimate)
    assert abs(figures["rho"] - np.sqrt(0.5)) < 0.02
    assert abs(figures["slope"] - figures["rho"] ** 2) < 0.03
    assert abs(figures["error"]) < 0.2
    darkest, *_, brightest = figures["by_class"]
    assert darkest > 3.0 and brightest < -3.0  # dark frames come out too bright, bright ones too dark
    assert abs(sum(figures["shares"]) - 1.0) < 1e-9
    exact = dispersion.dispersion(truth, truth)
    assert abs(exact["slope"] - 1.0) < 1e-9 and exact["by_class"] == [0.0] * len(dispersion.STEP_CLASSES)


def test_explained_share_of_a_fit_with_known_parts(script):
    dispersion = script("envelope_dispersion")
    rng = np.random.default_rng(3)
    first, second, unrelated = rng.standard_normal((3, 50000))
    truth = 3.0 + first + second  # each part explains half
    assert abs(dispersion.explained(truth, first) - 0.5) < 0.02
    assert abs(dispersion.explained(truth, first, unrelated) - 0.5) < 0.02  # a predictor that tells nothing
    assert dispersion.explained(truth, first, second) > 0.999
