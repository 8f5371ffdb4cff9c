"""scripts/snr_breakdown.py: the exact split of an output's error into its band's level and coherence."""

import numpy as np
import pytest

RATE, CUTOFF = 48000, 8000.0


@pytest.fixture(scope="module")
def breakdown(script):
    return script("snr_breakdown")


def noise(seed: int) -> np.ndarray:
    """`(1, RATE)` white noise without its DC and Nyquist bins (real bins a 90-degree turn cannot keep)."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal((1, RATE)), axis=-1)
    spectrum[:, [0, -1]] = 0.0
    return np.fft.irfft(spectrum, RATE, axis=-1)


def split(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(1, T)` -> its parts at and under `CUTOFF`, and above it (exact, through the FFT)."""
    spectrum = np.fft.rfft(audio, axis=-1)
    above = np.fft.rfftfreq(audio.shape[-1], 1 / RATE) > CUTOFF
    band = np.fft.irfft(spectrum * above, audio.shape[-1], axis=-1)
    return audio - band, band


def quadrature(band: np.ndarray) -> np.ndarray:
    """The band turned by 90 degrees at every frequency: the same power spectrum, correlation exactly 0."""
    return np.fft.irfft(1j * np.fft.rfft(band, axis=-1), band.shape[-1], axis=-1)


@pytest.mark.parametrize("level_db", [-6.0, 0.0, 3.0])
def test_a_band_in_quadrature_costs_its_level_and_at_the_reference_level_3_db(breakdown, level_db):
    """Output = the known band + the reference's band turned by 90 degrees at `level_db`; sinc = the known band
    alone. Sinc's error is the band's energy E, the output's E (1 + g): SNR - sinc's = -10 log10(1 + g), and with
    the band at the reference's power -10 log10(2) = -3.01 dB."""
    reference = noise(0)
    known, band = split(reference)
    g = 10 ** (level_db / 10)
    output = known + np.sqrt(g) * quadrature(band)
    row = breakdown.file_row(breakdown.band_terms(output, reference, CUTOFF, RATE),
                             breakdown.band_terms(known, reference, CUTOFF, RATE))
    assert row["rho"] == pytest.approx(0.0, abs=1e-9)
    assert row["level"] == pytest.approx(level_db, abs=1e-6)
    assert row["measured"] == pytest.approx(-10 * np.log10(1 + g), abs=1e-6)
    assert row["at_level"] == pytest.approx(-10 * np.log10(2), abs=1e-6)


def test_a_coherent_band_at_half_amplitude_beats_sinc_by_6_db(breakdown):
    """Output band = half the reference's: rho 1, level -6.02 dB, error E / 4: SNR 6.02 dB over sinc's; brought to
    the reference's power it is the reference itself, and the error is what is left under the cutoff."""
    reference = noise(1)
    known, band = split(reference)
    low_error = 1e-3 * split(noise(2))[0]
    row = breakdown.file_row(breakdown.band_terms(known + low_error + 0.5 * band, reference, CUTOFF, RATE),
                             breakdown.band_terms(known, reference, CUTOFF, RATE))
    assert row["rho"] == pytest.approx(1.0, abs=1e-9)
    assert row["level"] == pytest.approx(20 * np.log10(0.5), abs=1e-6)
    energy = lambda x: float(np.sum(x**2))
    assert row["measured"] == pytest.approx(10 * np.log10(energy(band) / (energy(low_error) + energy(band) / 4)),
                                            abs=1e-6)
    assert row["at_level"] == pytest.approx(10 * np.log10(energy(band) / energy(low_error)), abs=1e-6)
