"""The metrics against direct NumPy computations of the standard formulas, and against known values."""

import numpy as np
import pytest
import torch

from nuwave.audio.degrade import Degradation, resample_poly
from nuwave.benchmark.metrics import all_metrics, lsd_split, mrstft, si_sdr, snr
from tests.conftest import tone_mix


def numpy_log_power(x: np.ndarray) -> np.ndarray:
    n_fft, hop = 2048, 512
    padded = np.pad(x, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann, as torch.hann_window
    count = 1 + (padded.size - n_fft) // hop
    frames = np.stack([padded[i * hop : i * hop + n_fft] * window for i in range(count)])
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    return np.log10(np.maximum(power, 1e-8))  # (frames, 1025)


def numpy_lsd(prediction, reference, low, high):
    diff = (numpy_log_power(prediction) - numpy_log_power(reference))[:, low:high]
    return np.mean(np.sqrt(np.mean(diff**2, axis=1)))


@pytest.mark.parametrize("input_rate,split", [(16000, 341), (24000, 512), (12000, 256), (8000, 170)])
def test_lsd_matches_numpy(input_rate, split):
    rng = np.random.default_rng(input_rate)
    reference = rng.standard_normal(30011).astype(np.float32) * 0.1
    prediction = (reference + 0.05 * rng.standard_normal(30011)).astype(np.float32)
    values = lsd_split(torch.from_numpy(prediction), torch.from_numpy(reference), input_rate, 48000)
    assert int(1025 * input_rate / 48000) == split
    assert values["lsd"].item() == pytest.approx(numpy_lsd(prediction, reference, 0, 1025), rel=1e-4)
    assert values["lsd_hf"].item() == pytest.approx(numpy_lsd(prediction, reference, split, 1025), rel=1e-4)
    assert values["lsd_lf"].item() == pytest.approx(numpy_lsd(prediction, reference, 0, split), rel=1e-4)


def test_lsd_of_a_signal_with_itself_is_zero():
    x = torch.randn(2, 20000)
    assert all(v.abs().max() == 0 for v in lsd_split(x, x, 16000, 48000).values())


def test_snr_and_si_sdr_match_analytic_values():
    rng = np.random.default_rng(1)
    y = rng.standard_normal(48000)
    e = rng.standard_normal(48000)
    e *= 0.1 * np.linalg.norm(y) / np.linalg.norm(e)  # exactly 20 dB below
    value = snr(torch.from_numpy(y + e).float(), torch.from_numpy(y).float()).item()
    assert value == pytest.approx(20.0, abs=1e-3)
    assert snr(torch.ones(100), torch.ones(100)).item() == pytest.approx(20 * np.log10(10 / 1e-8), rel=1e-5)
    # SI-SDR ignores scale: 3 y has infinite SI-SDR in principle, very large in floating point.
    assert si_sdr(torch.from_numpy(3 * y).float(), torch.from_numpy(y).float()).item() > 100
    e_orth = e - (e @ y) / (y @ y) * y  # orthogonal error: SI-SDR = 10 log10(||y||^2 / ||e_orth||^2)
    expected = 10 * np.log10((y @ y) / (e_orth @ e_orth))
    assert si_sdr(torch.from_numpy(y + e_orth).float(), torch.from_numpy(y).float()).item() == pytest.approx(
        expected, abs=1e-3
    )


def test_mrstft_is_auraloss_default_and_zero_for_identity():
    from auraloss.freq import MultiResolutionSTFTLoss

    x, y = torch.randn(2, 16000), torch.randn(2, 16000)
    expected = MultiResolutionSTFTLoss()(x[:1, None], y[:1, None])
    assert mrstft(x, y)[0].item() == pytest.approx(expected.item(), rel=1e-5)
    assert mrstft(x, x).abs().max() < 1e-5


def test_sinc_baseline_lsd_hf_is_large_and_lsd_lf_near_zero():
    rng = np.random.default_rng(2)
    reference = (0.1 * rng.standard_normal(48000 * 2)).astype(np.float32)
    low, rate = Degradation("sinc", 16000).apply(reference, 48000)
    sinc = resample_poly(low, rate, 48000, reference.size)
    values = all_metrics(torch.from_numpy(sinc), torch.from_numpy(reference), rate, 48000)
    assert values["lsd_hf"].item() > 3.0
    assert values["lsd_lf"].item() < 0.2


def test_spectral_band_replication_fills_the_top_band_and_keeps_the_known_one():
    from nuwave.benchmark.baselines import spectral_band_replication

    reference = tone_mix(48000, 2.0, seed=1)
    low, rate = Degradation("standard", 16000).apply(reference, 48000)
    sinc = resample_poly(low, rate, 48000, reference.size)
    sbr = spectral_band_replication(sinc, rate / 2, 48000)
    assert sbr.shape == sinc.shape and np.isfinite(sbr).all()
    before = lsd_split(torch.from_numpy(sinc)[None], torch.from_numpy(reference)[None], rate, 48000)
    after = lsd_split(torch.from_numpy(sbr)[None], torch.from_numpy(reference)[None], rate, 48000)
    assert after["lsd_hf"].item() < 0.5 * before["lsd_hf"].item()
    assert abs(after["lsd_lf"].item() - before["lsd_lf"].item()) < 0.05
    # nothing to extend when the cutoff is the Nyquist frequency
    np.testing.assert_array_equal(spectral_band_replication(sinc, 24000, 48000), sinc)


def test_band_diagnostics_known_answers():
    from nuwave.benchmark.metrics import band_diagnostics, octave_edges

    assert octave_edges(8000, 48000) == [(8000, 16000), (16000, 24000.0)]
    assert octave_edges(2000, 48000) == [(2000, 4000), (4000, 8000), (8000, 24000.0)]
    rate = 48000
    rng = np.random.default_rng(0)
    reference = 0.1 * rng.standard_normal(2 * rate)
    reference[rate // 2 : rate] = 0.0  # half a second of digital silence
    reference = torch.from_numpy(reference.astype(np.float32))
    same = band_diagnostics(reference, reference, 8000, rate)
    assert same["band_db_1"].item() == pytest.approx(0, abs=1e-4) and np.isnan(same["band_db_3"].item())
    assert same["lsd_active"].item() == pytest.approx(0, abs=1e-6) and same["silence_dbfs"].item() == -200
    assert same["band_coherence"].item() == pytest.approx(1, abs=1e-5)
    assert band_diagnostics(-reference, reference, 8000, rate)["band_coherence"].item() == pytest.approx(-1, abs=1e-5)
    # the reference's band replaced by another of the same power: coherence near 0, power right
    other = torch.from_numpy((0.1 * rng.standard_normal(2 * rate)).astype(np.float32))
    own = band_diagnostics(other, reference, 8000, rate)
    assert abs(own["band_coherence"].item()) < 0.05 and own["band_db_1"].item() == pytest.approx(0, abs=0.5)
    doubled = band_diagnostics(2 * reference, reference, 8000, rate)
    assert doubled["band_db_1"].item() == pytest.approx(20 * np.log10(2), abs=1e-3)
    assert doubled["band_db_2"].item() == pytest.approx(20 * np.log10(2), abs=1e-3)
    # noise at -60 dBFS in the pause: the output's RMS there, and the pause's band far above the clamped floor
    filled = reference.clone()
    filled[rate // 2 : rate] = torch.from_numpy((1e-3 * rng.standard_normal(rate // 2)).astype(np.float32))
    values = band_diagnostics(filled, reference, 8000, rate)
    assert values["silence_dbfs"].item() == pytest.approx(-60, abs=0.5)
    assert values["pause_db"].item() > 20 and values["lsd_pause"].item() > 1
    assert values["band_db_1"].item() == pytest.approx(0, abs=0.1)


def test_band_correlation_of_same_opposite_and_unrelated_channels():
    from nuwave.benchmark.metrics import band_correlation

    rng = np.random.default_rng(1)
    x, y = (torch.from_numpy(rng.standard_normal(48000).astype(np.float32)) for _ in range(2))
    assert band_correlation(torch.stack([x, x]), 8000, 48000).item() == pytest.approx(1, abs=1e-5)
    assert band_correlation(torch.stack([x, -x]), 8000, 48000).item() == pytest.approx(-1, abs=1e-5)
    assert abs(band_correlation(torch.stack([x, y]), 8000, 48000).item()) < 0.05
    # only the band above the cutoff counts: a shared low band does not make unrelated highs correlated
    low = torch.from_numpy(np.sin(2 * np.pi * 200 * np.arange(48000) / 48000).astype(np.float32)) * 10
    assert abs(band_correlation(torch.stack([low + x, low + y]), 8000, 48000).item()) < 0.05
    # no band above the cutoff (a full-band input), or a silent one: nothing to correlate
    assert np.isnan(band_correlation(torch.stack([x, -x]), 24000, 48000).item())
    assert np.isnan(band_correlation(torch.stack([x, torch.zeros_like(x)]), 8000, 48000).item())


def test_a_stereo_file_without_a_band_is_not_held_to_a_correlation_target():
    from nuwave.benchmark.tables import target_checks

    def record(name, value):
        return {"system": "nuwave", "steps": 8, "run": 0, "file": f"/x/{name}.flac", "condition": "mp3",
                "metrics": {"band_corr": value}}

    result = {"suite": "stereo", "summary": [],
              "records": [record("opposite_music", float("nan")), record("opposite_speech", -1.0)]}
    assert [(where, holds) for where, _, _, _, holds in target_checks(result, 8)] == [("mp3 opposite_speech", True)]
