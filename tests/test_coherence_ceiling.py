"""scripts/coherence_ceiling.py: the coherence the SNR target needs, and the odd excitation it measures."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def ceiling(script):
    return script("coherence_ceiling")


def test_the_coherence_needed_falls_with_the_band_level():
    """Error factor 1 + g - 2 rho sqrt(g) at most 10^0.15: rho 0.294 at 0 dB, 0.138 at -2 dB, none from -3.87 dB
    (`nuwave.benchmark.tables.coherence_needed`, which the script and scripts/snr_breakdown.py use)."""
    from nuwave.benchmark.tables import coherence_needed

    assert coherence_needed(0.0) == pytest.approx((2 - 10**0.15) / 2)
    g = 10 ** -0.2
    assert coherence_needed(-2.0) == pytest.approx((1 + g - 10**0.15) / (2 * np.sqrt(g)))
    assert coherence_needed(-3.9) == 0.0
    # with the required coherence the error factor sits on the bound
    for level in (-3.0, -1.0, 0.0, 2.0):
        g, rho = 10 ** (level / 10), coherence_needed(level)
        assert 1 + g - 2 * rho * np.sqrt(g) == pytest.approx(10**0.15)


def test_the_odd_excitation_of_a_sine_is_its_third_harmonic_at_half_amplitude_with_the_opposite_sign():
    """A sin(wt) cubed over its power A^2 / 2 is A (3 sin(wt) - sin(3wt)) / 2 at any level over the floor; odd in
    the input; under the floor it falls away (`nuwave.audio.dsp.odd_excitation`, which the script and the
    pipeline's `phase_lock` use)."""
    import torch

    from nuwave.audio.dsp import odd_excitation

    rate, window = 48000, 512
    t = torch.arange(rate // 2, dtype=torch.float64) / rate
    frequency = 10 * rate / (window + 1)  # ten whole periods in the moving mean's 513 samples
    for amplitude in (0.3, 0.03):
        sine = amplitude * torch.sin(2 * torch.pi * frequency * t)
        excitation = odd_excitation(sine[None], window)[0]
        phase = 2 * torch.pi * frequency * t
        expected = amplitude * (3 * torch.sin(phase) - torch.sin(3 * phase)) / 2
        middle = slice(window, -window)
        np.testing.assert_allclose(excitation[middle].numpy(), expected[middle].numpy(), atol=5e-3 * amplitude)
        np.testing.assert_allclose(odd_excitation(-sine[None], window).numpy(), -excitation[None].numpy(), atol=1e-7)
    quiet = 1e-5 * torch.sin(2 * torch.pi * frequency * t)
    assert float(odd_excitation(quiet[None], window).abs().max()) < 1e-8


def test_other_excitations_keep_or_lose_the_input_s_polarity(ceiling):
    """On a pulse train (harmonics of 200 Hz in cosine phase up to 20 kHz) from 16 kHz the band above the cutoff is
    a pulse train too: the cube correlates strongly with it, and the input's own top gives the cube the same sign.
    Turned upside down, the odd excitations keep their correlation and the even one (|x|) changes its sign."""
    rate, output_rate = 16000, 48000
    t = np.arange(output_rate) / output_rate
    pulses = sum(np.cos(2 * np.pi * 200 * k * t) for k in range(1, 101)).astype(np.float32) * 0.01
    upright = ceiling.excitation_terms(pulses, rate, output_rate)
    flipped = ceiling.excitation_terms(-pulses, rate, output_rate)
    assert upright["x^3 / power"] > 0.5 and upright["own sign"] == 1.0
    for odd in ("x^3 / power", "|x| x / rms", "x^5 / power^2"):
        assert flipped[odd] == pytest.approx(upright[odd], abs=1e-3)
    assert upright["full-wave rectified"] > 0.3
    assert flipped["full-wave rectified"] == pytest.approx(-upright["full-wave rectified"], abs=1e-3)
    assert ceiling.correlation(np.ones(3, complex), -np.ones(3, complex)) == -1.0
    assert ceiling.correlation(np.zeros(3, complex), np.ones(3, complex)) == 0.0


def test_a_per_bin_readout_recovers_the_gains_that_made_the_reference(ceiling):
    """A reference made of the two excitations through one complex gain per bin each: least squares finds those
    gains (to its small ridge) and their readout correlates fully, where one real mix of the two does not; a
    reference unrelated to the excitations gets no correlation out of a readout fitted elsewhere."""
    rng = np.random.default_rng(0)
    bins, frames = 6, 400
    noise = lambda: rng.standard_normal((bins, frames)) + 1j * rng.standard_normal((bins, frames))
    own, second = noise(), noise()
    gains = rng.standard_normal((bins, 2)) + 1j * rng.standard_normal((bins, 2))
    reference = gains[:, None, 0] * own + gains[:, None, 1] * second
    band = np.arange(bins) >= 2
    terms = [(reference, own, second, band, lambda spectrum: spectrum)]
    fitted = ceiling.fit_readout(terms)
    np.testing.assert_allclose(fitted, gains, rtol=1e-2)
    assert ceiling.readout_correlation(terms, fitted, 16000) > 0.999
    assert ceiling.readout_correlation(terms, None, 16000) < 0.9
    unrelated = [(noise(), own, second, band, lambda spectrum: spectrum)]
    assert abs(ceiling.readout_correlation(unrelated, fitted, 16000)) < 0.1
