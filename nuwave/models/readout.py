"""The phase lock's readout: how the band above the cutoff mixes the input's two excitations, band by band and frame
by frame, from the input's own spectrum.

Why: the phase lock (`nuwave.inference.pipeline.NuWavePipeline._phase_locked`) gives the band a phase that follows
the input's pitch pulses, from two excitations (the input's cube and its linear-prediction residual's cube), each
brought to the predicted envelope and mixed at one angle per cutoff (`RESIDUAL_MIX`). No finer *fixed* mix locks
better on held-out speech (one complex gain per bin, `eval/results/coherence_ceiling.md`): the relation between the
excitations and the missing band moves from voice to voice and from sound to sound. What tells them apart is in the
input: how its power is spread over the known band in the frames around (a vowel's formants, a fricative's top).
So a small convolutional network reads the input's band powers around each frame and gives, per envelope band and
frame, complex changes to the fixed mix's two weights; its last layer starts at zero, so an untrained readout is
the fixed mix. It is trained (`scripts/train_readout.py`) to maximise the benchmark's band coherence, the
correlation of the mixed band with the reference in each band and frame weighed by the reference's power there;
that correlation does not depend on the envelope the excitations are brought to, so the readout and the envelope
predictor are independent.

It is applied only to inputs whose cutoff lies within `[min_cutoff_hz, max_cutoff_hz]`, the range where it raised
the coherence of voices it was not trained on; elsewhere the pipeline keeps the fixed mix.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from nuwave.models.envelope import band_membership


class PhaseReadout(ModelMixin, ConfigMixin):
    """The input's STFT power `(N, bins, frames)` (the denoiser's STFT), by its features, and the cutoff -> complex
    changes `(N, bands, 2, frames)` to the fixed mix's weights of the two excitations (the input's, its residual's),
    per band of `bands` equal slices of the bins (the envelope predictor's bands) and frame.

    The features are the input's log10 power in each band relative to the frame's loudest band, clipped at
    `feature_floor` bels under and mapped to [-1, 1] (so the readout sees the spectrum's shape, not its level),
    and the cutoff over the Nyquist frequency. `sample_rate`, `n_fft` and `hop_length` are those of the denoiser's
    STFT it was trained on (`fits`)."""

    config_name = "config.json"

    @register_to_config
    def __init__(self, sample_rate: int = 48000, n_fft: int = 1024, hop_length: int = 256, bands: int = 32,
                 channels: int = 96, kernel_size: int = 5, feature_floor: float = 8.0, min_cutoff_hz: float = 0.0,
                 max_cutoff_hz: float = 0.0) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv1d(bands + 1, channels, kernel_size, padding=padding), nn.GELU(),
            nn.Conv1d(channels, channels, kernel_size, padding=padding), nn.GELU(),
            nn.Conv1d(channels, bands * 4, 1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def fits(self, denoiser) -> bool:
        """Whether the readout reads the STFT and mixes over the envelope bands of `denoiser` (a `NuWaveDenoiser`):
        it uses none of the denoiser's weights, so a model fine-tuned from its folder keeps it while these stay."""
        config = denoiser.config
        return (config.sample_rate, config.n_fft, config.hop_length, config.envelope_bands) == (
            self.config.sample_rate, self.config.n_fft, self.config.hop_length, self.config.bands)

    def features(self, power: torch.Tensor) -> torch.Tensor:
        """`(N, bins, frames)` STFT power -> `(N, bands, frames)` features in [-1, 1]."""
        membership = band_membership(power.shape[1], self.config.bands, power.device)
        band_power = torch.einsum("kf,nft->nkt", membership, power.float()) / membership.sum(1)[None, :, None]
        level = torch.log10(band_power + 1e-12)
        floor = float(self.config.feature_floor)
        relative = (level - level.amax(dim=1, keepdim=True)).clamp(-floor, 0.0)
        return relative / (floor / 2) + 1.0

    def applies(self, bandwidth: torch.Tensor) -> torch.Tensor:
        """`(N,)` cutoff / Nyquist -> `(N,)` bool: whether the cutoff lies where the readout was found to help."""
        cutoff_hz = bandwidth.float() * self.config.sample_rate / 2
        return (cutoff_hz >= self.config.min_cutoff_hz) & (cutoff_hz <= self.config.max_cutoff_hz)

    def forward(self, features: torch.Tensor, bandwidth: torch.Tensor) -> torch.Tensor:
        """`features` `(N, bands, frames)` (`self.features` of the input's power), `bandwidth` `(N,)` cutoff /
        Nyquist -> the changes `(N, bands, 2, frames)`, complex."""
        features = features.to(self.dtype)
        cutoff = bandwidth.to(features)[:, None, None].expand(-1, 1, features.shape[-1])
        change = self.body(torch.cat([features, cutoff], dim=1)).float()
        items, _, frames = change.shape
        change = change.reshape(items, self.config.bands, 2, 2, frames)
        return torch.complex(change[:, :, :, 0], change[:, :, :, 1])


def mix_weights(readout: PhaseReadout | None, power: torch.Tensor, bandwidth: torch.Tensor,
                fixed: tuple[torch.Tensor, torch.Tensor], bands: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The complex weights `(N, bands, frames)` of the two excitations: the fixed mix `fixed` (two `(N,)` real
    weights), plus, for the items whose cutoff the readout `applies` to, its changes.

    power: `(N, bins, frames)` the input's STFT power; bandwidth: `(N,)` cutoff / Nyquist."""
    items, _, frames = power.shape
    weights = torch.stack(fixed, dim=1).to(power.device, torch.complex64)[:, None, :, None]  # (N, 1, 2, 1)
    weights = weights.expand(items, bands, 2, frames)
    if readout is not None:
        if readout.config.bands != bands:
            raise ValueError(f"the phase readout has {readout.config.bands} bands, the envelope {bands}")
        used = readout.applies(bandwidth)
        if bool(used.any()):
            weights = weights + readout(readout.features(power), bandwidth) * used[:, None, None, None]
    return weights[:, :, 0], weights[:, :, 1]


def spread_to_bins(weights: torch.Tensor, bins: int) -> torch.Tensor:
    """Per-band values `(N, bands, frames)` -> per-bin `(N, bins, frames)` (each bin takes its band's)."""
    membership = band_membership(bins, weights.shape[1], weights.device).to(weights.dtype)
    return torch.einsum("kf,nkt->nft", membership, weights)
