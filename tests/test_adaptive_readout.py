"""scripts/adaptive_readout.py: a readout of the phase lock's excitations that adapts to the input."""

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def readout_script(script):
    return script("adaptive_readout")


def synthetic_sums(module, sign: float, frames: int = 20) -> dict:
    """Cells whose two excitations are orthonormal and whose reference is `sign` times the first; the input's
    features say which (all +1 or all -1)."""
    bands = module.BANDS
    cross = torch.zeros(bands, frames, 2, dtype=torch.complex64)
    cross[..., 0] = sign
    gram = torch.eye(2, dtype=torch.complex64).expand(bands, frames, 2, 2).clone()
    return {"features": np.full((bands, frames), sign, dtype=np.float32), "cross": cross, "gram": gram,
            "power": torch.ones(bands, frames), "rate": 16000}


def test_the_coherence_of_a_mix_is_its_cells_correlation_weighed_by_the_reference_s_power(readout_script):
    """With orthonormal excitations and the reference on the first, a mix (a, b) correlates a / |(a, b)|; the fixed
    mix at a 8 kHz cutoff is 45 degrees (`RESIDUAL_MIX`): 0.707, and -0.707 for the reference turned over."""
    upright, flipped = synthetic_sums(readout_script, 1.0), synthetic_sums(readout_script, -1.0)
    fixed = readout_script.mix_weights(None, upright)
    assert float(readout_script.coherence(fixed, upright)) == pytest.approx(np.sqrt(0.5), abs=1e-4)
    assert float(readout_script.coherence(fixed, flipped)) == pytest.approx(-np.sqrt(0.5), abs=1e-4)
    weights = torch.zeros_like(fixed)
    weights[..., 0] = 2.0
    assert float(readout_script.coherence(weights, upright)) == pytest.approx(1.0, abs=1e-5)


def test_the_readout_starts_as_the_fixed_mix_and_learns_a_sign_the_input_shows(readout_script):
    """Untrained, the readout is the fixed mix; trained on two inputs whose features say the reference's sign, it
    locks both, where one fixed mix cannot lock both."""
    torch.manual_seed(0)
    data = [synthetic_sums(readout_script, 1.0), synthetic_sums(readout_script, -1.0)]
    readout = readout_script.AdaptiveReadout(channels=16)
    for sums in data:
        assert torch.equal(readout_script.mix_weights(readout, sums), readout_script.mix_weights(None, sums))
    readout_script.train(readout, data, epochs=150, learning_rate=3e-3)
    with torch.no_grad():
        locked = [float(readout_script.coherence(readout_script.mix_weights(readout, s), s)) for s in data]
    assert min(locked) > 0.9
