"""The phase lock's readout: its features, where it applies, the fixed mix it starts from, its training objective
and its place in a model folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from nuwave import cli
from nuwave.inference.loading import load_pipeline
from nuwave.inference.pipeline import NuWavePipeline, residual_mix
from nuwave.models.readout import PhaseReadout, mix_weights, spread_to_bins
from nuwave.models.schedule import make_sampler
from nuwave.training.readout import ReadoutCells, cell_weights, coherence, mean_coherence, readout_cells, train_readout
from tests.conftest import tiny_denoiser, tone_mix


def readout_with_weights(seed: int = 0, **config) -> PhaseReadout:
    """A readout whose last layer is random (an untrained one starts at zero: the fixed mix)."""
    torch.manual_seed(seed)
    readout = PhaseReadout(bands=8, channels=16, **config)
    with torch.no_grad():
        readout.body[-1].weight.normal_(0.0, 0.5)
    return readout.eval()


def test_features_read_the_spectrum_s_shape_not_its_level():
    power = torch.rand(2, 65, 20) * torch.logspace(0, -6, 65)[None, :, None]
    readout = PhaseReadout(bands=8)
    features = readout.features(power)
    assert features.shape == (2, 8, 20)
    assert float(features.min()) >= -1.0 and float(features.max()) <= 1.0
    assert torch.allclose(features.amax(dim=1), torch.ones(2, 20))  # each frame's loudest band
    assert torch.allclose(readout.features(power * 1e4), features, atol=1e-5)
    assert float(features[:, 0].mean()) > float(features[:, -1].mean())  # the falling spectrum reads as such


def test_an_untrained_readout_is_the_fixed_mix():
    power = torch.rand(3, 65, 10)
    bandwidth = torch.tensor([0.25, 1 / 3, 0.5])
    fixed = tuple(torch.tensor(w, dtype=torch.float32) for w in residual_mix(bandwidth.numpy() * 24000))
    readout = PhaseReadout(bands=8, min_cutoff_hz=0.0, max_cutoff_hz=24000.0)
    own, other = mix_weights(readout, power, bandwidth, fixed, 8)
    assert own.shape == other.shape == (3, 8, 10)
    assert torch.allclose(own, fixed[0][:, None, None].to(own.dtype).expand_as(own))
    assert torch.allclose(other, fixed[1][:, None, None].to(other.dtype).expand_as(other))


def test_the_readout_changes_the_mix_only_within_its_cutoffs():
    power = torch.rand(3, 65, 10)
    bandwidth = torch.tensor([0.25, 1 / 3, 0.5])  # 6, 8 and 12 kHz at 48 kHz
    fixed = tuple(torch.tensor(w, dtype=torch.float32) for w in residual_mix(bandwidth.numpy() * 24000))
    readout = readout_with_weights(min_cutoff_hz=6000.0, max_cutoff_hz=8000.0)
    assert readout.applies(bandwidth).tolist() == [True, True, False]
    own, other = mix_weights(readout, power, bandwidth, fixed, 8)
    assert not torch.allclose(own[:2], fixed[0][:2, None, None].to(own.dtype).expand_as(own[:2]))
    assert torch.allclose(own[2], torch.full_like(own[2], float(fixed[0][2])))
    assert torch.allclose(other[2], torch.full_like(other[2], float(fixed[1][2])))
    with pytest.raises(ValueError, match="bands"):
        mix_weights(readout, power, bandwidth, fixed, 16)


def test_band_weights_spread_to_each_band_s_bins():
    weights = torch.arange(4, dtype=torch.float32).reshape(1, 4, 1).expand(1, 4, 3)
    spread = spread_to_bins(weights, 9)
    assert spread.shape == (1, 9, 3)
    assert spread[0, :, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 3]


def synthetic_cells(frames: int = 40, seed: int = 0) -> ReadoutCells:
    """Cells where the reference is the first excitation in the lower half of the bands and the second in the
    upper half, at random phases per frame: the best mix takes each from where it is."""
    rng = np.random.default_rng(seed)
    bands, bins = 4, 6
    first = rng.standard_normal((bands, bins, frames)) + 1j * rng.standard_normal((bands, bins, frames))
    second = rng.standard_normal((bands, bins, frames)) + 1j * rng.standard_normal((bands, bins, frames))
    reference = np.where(np.arange(bands)[:, None, None] < 2, first, second)
    both = np.stack([first, second], axis=-1)
    cross = np.einsum("kftj,kft->ktj", both, reference.conj())
    gram = np.einsum("kftj,kftl->ktjl", both, both.conj())
    power = np.sum(np.abs(reference) ** 2, axis=1)
    features = np.where(np.arange(bands)[:, None] < 2, 1.0, -1.0) * np.ones((bands, frames))
    as_tensor = lambda x, dtype: torch.from_numpy(x).to(dtype)
    return ReadoutCells(as_tensor(features, torch.float32), 0.25, as_tensor(cross, torch.complex64),
                        as_tensor(gram, torch.complex64), as_tensor(power, torch.float32))


def test_coherence_is_one_for_the_mix_that_is_the_reference_and_training_finds_it():
    cells = synthetic_cells()
    bands, frames = cells.power.shape
    best = torch.zeros(bands, frames, 2, dtype=torch.complex64)
    best[:2, :, 0] = 1.0
    best[2:, :, 1] = 1.0
    assert float(coherence(best, cells)) == pytest.approx(1.0, abs=1e-5)
    assert float(coherence(-best, cells)) == pytest.approx(-1.0, abs=1e-5)
    torch.manual_seed(0)
    readout = PhaseReadout(bands=4, channels=16)
    before = mean_coherence(None, [cells], 48000)
    assert mean_coherence(readout, [cells], 48000) == pytest.approx(before, abs=1e-6)
    train_readout(readout, [cells], 48000, epochs=300, learning_rate=3e-3)
    assert mean_coherence(readout, [cells], 48000) > before + 0.1
    assert cell_weights(readout, cells, 48000).shape == (bands, frames, 2)


def test_guarded_files_only_hold_the_readout_from_doing_worse_than_the_fixed_mix():
    cells = synthetic_cells()
    fixed = mean_coherence(None, [cells], 48000)
    # at the fixed mix (where training starts) a guarded file costs nothing: it moves no weight
    readout = PhaseReadout(bands=4, channels=16)
    start = [p.detach().clone() for p in readout.parameters()]
    train_readout(readout, [], 48000, epochs=5, guarded=[cells])
    assert all(torch.equal(a, b) for a, b in zip(start, readout.parameters()))
    # a readout that does worse than the fixed mix on it is brought back up to it (the floor, not a target)
    torch.manual_seed(0)
    readout = PhaseReadout(bands=4, channels=16)
    with torch.no_grad():
        readout.body[-1].weight.normal_(0.0, 1.0)
    assert mean_coherence(readout, [cells], 48000) < fixed - 0.2
    train_readout(readout, [], 48000, epochs=300, learning_rate=3e-3, guarded=[cells], guard_weight=1.0)
    assert mean_coherence(readout, [cells], 48000) >= fixed - 0.01
    # without guarded files training is what it was: the same weights, bit for bit
    one, two = PhaseReadout(bands=4, channels=16), PhaseReadout(bands=4, channels=16)
    two.load_state_dict(one.state_dict())
    train_readout(one, [cells], 48000, epochs=3)
    train_readout(two, [cells], 48000, epochs=3, guarded=[])
    assert all(torch.equal(a, b) for a, b in zip(one.parameters(), two.parameters()))


def test_silent_cells_count_for_nothing_and_keep_the_gradient_finite():
    cells = synthetic_cells()
    whole = float(coherence(cell_weights(None, cells, 48000), cells))
    # frames where the input's excitations are silent (digital silence in the input) or all but (the tail of a
    # fade), the reference not: their mix is (nearly) silent whatever the weights, and the reference's power there
    # counts against the coherence
    cells.cross[:, :3] = 0.0
    cells.gram[:, :3] = 0.0
    cells.cross[:, 3:5] *= 1e-22
    cells.gram[:, 3:5] *= 1e-44
    # frames where the reference is silent as well
    cells.cross[:, 5:10] = 0.0
    cells.gram[:, 5:10] = 0.0
    cells.power[:, 5:10] = 0.0
    readout = PhaseReadout(bands=4, channels=16)
    torch.nn.init.normal_(readout.body[-1].weight, std=0.1)
    loss = -coherence(cell_weights(readout, cells, 48000), cells)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in readout.parameters())
    assert float(coherence(cell_weights(None, cells, 48000), cells)) < whole


def test_readout_cells_come_from_the_pipeline_s_own_excitations():
    pipe = NuWavePipeline(denoiser=tiny_denoiser(), scheduler=make_sampler())
    readout = PhaseReadout(bands=8)
    reference = tone_mix(48000, 0.5) + 0.02 * np.random.default_rng(1).standard_normal(24000).astype(np.float32)
    for rate, has_second in ((8000, False), (16000, True)):
        cells = readout_cells(pipe, readout, reference.astype(np.float32), rate)
        frames = cells.features.shape[1]
        assert cells.cross.shape == (8, frames, 2) and cells.gram.shape == (8, frames, 2, 2)
        assert cells.bandwidth == pytest.approx(rate / 48000)
        assert bool((cells.power[: int(8 * rate / 48000) - 1] == 0).all())  # no cell under the cutoff
        assert bool((cells.gram[..., 1, 1].real.abs().sum() > 0)) == has_second
        assert -1.0 <= mean_coherence(None, [cells], 48000) <= 1.0


def test_a_model_folder_with_a_readout_loads_it_and_uses_it(tmp_path):
    denoiser = tiny_denoiser()
    plain = NuWavePipeline(denoiser=denoiser, scheduler=make_sampler())
    readout = readout_with_weights(min_cutoff_hz=6000.0, max_cutoff_hz=8000.0)
    with_readout = NuWavePipeline(denoiser=denoiser, scheduler=make_sampler(), phase_readout=readout)
    with_readout.save_pretrained(tmp_path / "model")
    index = json.loads((tmp_path / "model" / "model_index.json").read_text())
    assert index["phase_readout"] == ["nuwave.models.readout", "PhaseReadout"]
    loaded = load_pipeline(tmp_path / "model", "cpu")
    assert loaded.phase_readout is not None and loaded.phase_readout.config.max_cutoff_hz == 8000.0
    audio = tone_mix(16000, 0.5)
    run = lambda pipe, rate: pipe(audio, rate, 48000, generator=torch.Generator().manual_seed(0)).audios
    assert np.array_equal(run(loaded, 16000), run(with_readout, 16000))
    assert not np.allclose(run(loaded, 16000), run(plain, 16000), atol=1e-6)  # 8 kHz cutoff: within its range
    assert np.array_equal(run(loaded, 44100), run(plain, 44100))  # 22.05 kHz: outside it, the fixed mix


def test_a_model_folder_without_a_readout_keeps_the_fixed_mix(tiny_model_dir):
    assert load_pipeline(tiny_model_dir, "cpu").phase_readout is None


def test_the_readout_is_applied_over_the_longest_run_of_rates_that_gain_without_hurting_music(script):
    applied_cutoffs = script("train_readout").applied_cutoffs
    gains = {8000: (0.0, 0.0), 12000: (0.05, -0.02), 16000: (0.02, 0.0), 22050: (0.03, 0.01), 24000: (0.02, -0.005)}
    assert applied_cutoffs(gains, 0.01, 0.01) == (8000.0, 12000.0)
    assert applied_cutoffs(gains, 0.01, 0.05) == (6000.0, 12000.0)
    assert applied_cutoffs({**gains, 22050: (0.0, 0.0)}, 0.01, 0.05) == (6000.0, 8000.0)
    assert applied_cutoffs(gains, 0.1, 0.01) is None


def test_the_shipped_model_carries_a_readout_that_fits_it():
    pipe = load_pipeline("nuwave-base", "cpu")
    readout = pipe.phase_readout
    assert readout is not None and readout.fits(pipe.denoiser)
    assert 0 < readout.config.min_cutoff_hz <= readout.config.max_cutoff_hz < pipe.model_rate / 2
    assert any(float(p.detach().abs().sum()) > 0 for p in readout.body[-1].parameters())  # trained, not the fixed mix


def test_eval_with_the_fixed_mix_leaves_the_readout_out(tmp_path):
    """`nuwave eval --fixed-mix` measures the model as a folder without its readout would run, and says so."""
    denoiser = tiny_denoiser()
    readout = readout_with_weights(min_cutoff_hz=6000.0, max_cutoff_hz=8000.0)
    NuWavePipeline(denoiser=denoiser, scheduler=make_sampler(), phase_readout=readout).save_pretrained(tmp_path / "on")
    NuWavePipeline(denoiser=denoiser, scheduler=make_sampler()).save_pretrained(tmp_path / "off")
    sf.write(str(tmp_path / "ref.wav"), tone_mix(48000, 0.5), 48000, subtype="FLOAT")
    (tmp_path / "list.txt").write_text("ref.wav\n")
    (tmp_path / "suite.json").write_text(json.dumps({"name": "tiny", "manifest": "list.txt", "output_rate": 48000,
                                                     "input_rates": [16000], "degradations": ["standard"]}))

    def snr(model: str, *options: str) -> tuple[float, str]:
        out = tmp_path / f"results-{model}-{len(options)}"
        result = CliRunner().invoke(cli.main, ["eval", "--suite", str(tmp_path / "suite.json"), "--data",
                                               str(tmp_path), "--model", str(tmp_path / model), "--steps", "2",
                                               "--out", str(out), "-q", *options])
        assert result.exit_code == 0, result.output
        results = json.loads((out / "results.json").read_text())
        [value] = [r["metrics"]["snr"] for r in results["records"] if r["system"] == "nuwave"]
        return value, results["sampler"]

    with_readout, sampler = snr("on")
    fixed, fixed_sampler = snr("on", "--fixed-mix")
    without, _ = snr("off")
    assert fixed == without and fixed != with_readout
    assert "fixed mix" in fixed_sampler and "fixed mix" not in sampler
