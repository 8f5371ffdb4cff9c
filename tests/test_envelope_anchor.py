"""The envelope predictor's anchor: what its band levels are relative to, frame by frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nuwave.audio.cutoff import TOP_HZ
from nuwave.audio.dsp import RESAMPLER_TRANSITION
from nuwave.models import NuWaveDenoiser
from nuwave.models.envelope import POWER_FLOOR, top_level


def test_top_level_is_the_mean_power_just_under_the_cutoff():
    bins, rate = 513, 48000
    freqs = np.linspace(0, rate / 2, bins)
    power = torch.ones(1, bins, 2)
    top = 0.5 * (1 - RESAMPLER_TRANSITION) * rate / 2
    edge = torch.from_numpy((freqs > top - TOP_HZ) & (freqs <= top))
    power[0, edge, 1] = 1000.0  # the second frame's top is 30 dB louder; nothing else counts
    power[0, torch.from_numpy(freqs > top), :] = 1e6
    power[0, torch.from_numpy(freqs <= top - TOP_HZ), :] = 1e-6
    level = top_level(power, torch.tensor([0.5]), rate)
    np.testing.assert_allclose(level[0].numpy(), [1.0, 1000.0], rtol=1e-6)


def untrained_head(denoiser: NuWaveDenoiser) -> NuWaveDenoiser:
    with torch.no_grad():
        denoiser.envelope.head.weight.zero_()
        denoiser.envelope.head.bias.zero_()
    return denoiser.eval()


def attack_and_decay(rate: int = 48000) -> torch.Tensor:
    """White noise that jumps up 30 dB for a quarter of a second and decays again: its top follows."""
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal(rate).astype(np.float32)) * 0.01
    envelope = torch.ones(rate)
    envelope[rate // 4: rate // 2] = 31.6
    return (noise * envelope)[None, None]


@pytest.mark.parametrize("anchor,share", [("input-top", None), ("frame-mean", None), ("blend", 0.0), ("blend", 1.0),
                                          ("blend", 0.5)])
def test_an_untrained_head_predicts_the_anchor_in_every_band(anchor, share):
    torch.manual_seed(0)
    denoiser = untrained_head(NuWaveDenoiser(channels=16, num_blocks=1, embedding_dim=16, envelope_bands=8,
                                             envelope_channels=16, envelope_blocks=1, envelope_anchor=anchor))
    if share is not None:  # the blend's share of the top, the same in every band and frame
        with torch.no_grad():
            denoiser.envelope.top_share.bias.fill_(share)
    cond = attack_and_decay()
    with torch.no_grad():
        envelope = denoiser.predict_envelope(cond, 0.5)
    power = denoiser.spectrum(cond).abs().square()
    top = torch.log10(top_level(power, torch.tensor([0.5]), 48000) + POWER_FLOOR)
    mean = torch.log10(power + POWER_FLOOR).mean(dim=1)
    weight = {"input-top": 1.0, "frame-mean": 0.0}.get(anchor, share)
    expected = weight * top + (1 - weight) * mean
    torch.testing.assert_close(envelope, expected[:, None, :].expand_as(envelope), atol=1e-4, rtol=0)
    # white noise: the top's level jumps by the attack's 3 bels, as the band does
    if weight == 1.0:
        assert envelope[0, 0, 70].item() - envelope[0, 0, 10].item() == pytest.approx(3.0, abs=0.3)


def test_an_unknown_anchor_is_refused():
    with pytest.raises(ValueError, match="envelope_anchor 'loudest'"):
        NuWaveDenoiser(envelope_anchor="loudest")


@pytest.mark.parametrize("anchor", ["blend", "input-top", "frame-mean"])
def test_the_top_level_handed_over_is_the_one_computed_and_a_frame_mean_model_needs_none(anchor, monkeypatch):
    """`predict_envelope(..., power, level)` gives what it computes itself; a "frame-mean" model never computes
    the input's top, and a model that uses it computes it at most once."""
    import nuwave.models.denoiser as denoiser_module

    torch.manual_seed(0)
    model = NuWaveDenoiser(channels=16, num_blocks=1, embedding_dim=16, envelope_bands=8, envelope_channels=16,
                           envelope_blocks=1, envelope_anchor=anchor).eval()
    cond, band = 0.1 * torch.randn(1, 1, 4800), torch.tensor([0.4])
    power = model.spectrum(cond).abs().square()
    with torch.no_grad():
        own = model.predict_envelope(cond, band)
        handed = model.predict_envelope(cond, band, power, top_level(power, band, 48000))
    torch.testing.assert_close(handed, own)
    calls = []
    monkeypatch.setattr(denoiser_module, "top_level", lambda *args: calls.append(1) or top_level(*args))
    with torch.no_grad():
        model.predict_envelope(cond, band, power)
    assert len(calls) == (0 if anchor == "frame-mean" else 1)
