import pytest
import torch

from nuwave.models import NuWaveDenoiser
from tests.conftest import tiny_denoiser


@pytest.mark.parametrize("length", [1, 255, 257, 1023, 4801])
def test_output_shape_for_odd_lengths(length):
    model = tiny_denoiser()
    noisy = torch.randn(3, 1, length)
    out = model(noisy, torch.randn(3, 1, length), torch.tensor([0.2, 0.5, 0.9]), torch.tensor([0, 500, 999]))
    assert out.shape == (3, 1, length)
    assert torch.isfinite(out).all()


def test_default_model_starts_as_zero_predictor_and_trains():
    """AdaLN-Zero / zero output init: a fresh model predicts 0, and gradients still reach every weight."""
    model = NuWaveDenoiser(channels=32, num_blocks=2, embedding_dim=32)
    noisy, cond = torch.randn(2, 1, 2048), torch.randn(2, 1, 2048)
    out = model(noisy, cond, torch.tensor([0.3, 0.3]), torch.tensor([10, 900]))
    assert torch.count_nonzero(out) == 0
    out.sub(noisy).square().mean().backward()
    assert model.output_projection.weight.grad.abs().sum() > 0


def test_batch_items_are_independent():
    model = tiny_denoiser()
    noisy, cond = torch.randn(2, 1, 3000), torch.randn(2, 1, 3000)
    band, steps = torch.tensor([0.3, 0.6]), torch.tensor([100, 700])
    both = model(noisy, cond, band, steps)
    first = model(noisy[:1], cond[:1], band[:1], steps[:1])
    torch.testing.assert_close(both[:1], first, rtol=1e-4, atol=1e-5)


def test_bandwidth_and_noise_level_change_the_output():
    model = tiny_denoiser()
    noisy, cond = torch.randn(1, 1, 4096), torch.randn(1, 1, 4096)
    base = model(noisy, cond, torch.tensor([0.3]), torch.tensor([500]))
    assert not torch.allclose(base, model(noisy, cond, torch.tensor([0.7]), torch.tensor([500])))
    assert not torch.allclose(base, model(noisy, cond, torch.tensor([0.3]), torch.tensor([50])))
