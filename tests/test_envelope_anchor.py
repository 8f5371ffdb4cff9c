"""The envelope predictor's anchor: what its band levels are relative to, frame by frame."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from nuwave.audio.cutoff import TOP_HZ
from nuwave.audio.dsp import RESAMPLER_TRANSITION
from nuwave.cli.train import train_command
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models import NuWaveDenoiser
from nuwave.models.envelope import POWER_FLOOR, top_level
from tests.test_training import TINY, corpus  # noqa: F401  (the tiny corpus fixture)


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


def train(*args):
    result = CliRunner().invoke(train_command, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_old_folders_keep_their_anchor_and_fine_tuning_changes_it(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "new")
    new = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser
    assert new.config.envelope_anchor == "blend"
    # a folder written before the option existed: anchored at the frame's mean, as it was trained
    config_path = tmp_path / "new" / "export" / "denoiser" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({k: v for k, v in config.items() if k != "envelope_anchor"}))
    old = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser
    assert old.config.envelope_anchor == "frame-mean" and old.envelope.top_share is None
    tuned = {}
    for anchor in ("blend", "input-top"):
        train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / anchor, "--init-from",
              tmp_path / "new" / "export", "--envelope-anchor", anchor, "--learning-rate", "1e-7", "--ema-decay", "1.0")
        tuned[anchor] = NuWavePipeline.from_pretrained(tmp_path / anchor / "export").denoiser
        assert tuned[anchor].config.envelope_anchor == anchor
    # "blend" starts as "frame-mean" (its share of the top at 0): every weight kept
    blend = tuned["blend"].state_dict()
    assert blend["envelope.top_share.weight"].abs().max() < 1e-5
    for name, tensor in old.state_dict().items():
        torch.testing.assert_close(blend[name], tensor)
    # "input-top" measures from another level: its head starts again from zero, the rest is kept
    top = tuned["input-top"].state_dict()
    for name, tensor in old.state_dict().items():
        if name.startswith("envelope.head."):
            assert top[name].abs().max() < 1e-5
        else:
            torch.testing.assert_close(top[name], tensor)
