"""The diffusion loss: mean squared error of the v prediction, measured in the STFT domain so that bins above
an example's trusted bandwidth (a 44.1 kHz source has nothing above 22.05 kHz; a Vorbis source's top band is
partly the codec's) can be left out."""

from __future__ import annotations

import torch

LOSS_N_FFT = 1024
LOSS_HOP = 256


def diffusion_loss(prediction: torch.Tensor, target: torch.Tensor, trusted: torch.Tensor) -> torch.Tensor:
    """`(B, 1, T)` x2 and `(B,)` trusted bandwidth / Nyquist -> scalar.

    Each STFT bin's power is divided by the window's energy, so for white errors the value equals the
    waveform MSE; bins above an example's trusted bandwidth do not count.
    """
    window = torch.hann_window(LOSS_N_FFT, device=prediction.device)
    error = (prediction - target)[:, 0].float()
    spectrum = torch.stft(error, LOSS_N_FFT, LOSS_HOP, window=window, center=True, pad_mode="constant",
                          return_complex=True)
    power = spectrum.abs().square() / window.square().sum()
    bins = torch.linspace(0.0, 1.0, power.shape[1], device=power.device)
    mask = (bins[None, :] <= trusted.float()[:, None] + 1e-6).to(power.dtype)[:, :, None]
    return (power * mask).sum() / (mask.sum() * power.shape[-1]).clamp_min(1.0)


def envelope_loss(predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, trusted: torch.Tensor
                  ) -> torch.Tensor:
    """Mean absolute error of log10 band powers (bels) over every frame and every band above the cutoff and
    within the trusted band. `(B, bands, frames)` x2, `(B, bands)` mask of bands above the cutoff, `(B,)` trusted
    bandwidth / Nyquist. Log power weighs a band 40 dB down, and a pause, as much as the loudest band, which is
    what the log-spectral distance and ears do."""
    bands = predicted.shape[1]
    centres = (torch.arange(bands, device=predicted.device) + 0.5) / bands
    weight = mask * (centres[None, :] <= trusted.float()[:, None] + 1e-6).to(mask.dtype)
    error = (predicted.float() - target.float()).abs().mean(dim=-1)  # (B, bands)
    return (error * weight).sum() / weight.sum().clamp_min(1.0)
