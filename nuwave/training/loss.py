"""The training losses, beside the diffusion they train (read `training_loss` top to bottom).

Diffusion (v-prediction, Salimans & Ho 2022; the schedule's `alphas_cumprod` = abar_t):

    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,   v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0,
    loss = | STFT(v_theta(x_t, cond, t) - v) |^2, mean over the bins within the example's trusted band,

with x0 the level-normalised target in the denoiser's tilted domain (`NuWaveDenoiser.whiten`) and t uniform over
the training timesteps. The error is measured in the STFT domain so that bins above an example's trusted
bandwidth (a 44.1 kHz source has nothing above 22.05 kHz; a Vorbis source's top band is partly the codec's) can
be left out. Beside it, for a model with an envelope predictor, the error in bels of its log band powers of the
missing band (`nuwave.models.envelope`).
"""

from __future__ import annotations

import math

import torch

from nuwave.audio.dsp import level_gain

LOSS_N_FFT = 1024
LOSS_HOP = 256
# The weight of the envelope predictor's loss (bels) beside the diffusion loss.
ENVELOPE_WEIGHT = 0.5


def noised(x0: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor, steps: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """`(B, 1, T)` clean and noise, `(B,)` timesteps -> the noisy sample x_t and the v target."""
    abar = alphas_cumprod.to(device=x0.device, dtype=x0.dtype)[steps.to(x0.device)].reshape(-1, 1, 1)
    alpha, sigma = abar**0.5, (1 - abar) ** 0.5
    return alpha * x0 + sigma * noise, alpha * noise - sigma * x0


def spectral_mse(prediction: torch.Tensor, target: torch.Tensor, trusted: torch.Tensor) -> torch.Tensor:
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


def envelope_loss(predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, trusted: torch.Tensor,
                  segment_weight: float = 1.0) -> torch.Tensor:
    """The error in bels of log10 band powers, frame by frame and over the segment, for every band above the
    cutoff and within the trusted band. `(B, bands, frames)` x2, `(B, bands)` mask of bands above the cutoff, `(B,)`
    trusted bandwidth / Nyquist.

    Frame by frame, the mean absolute error: log power weighs a band 40 dB down, and a pause, as much as the
    loudest band, which is what the log-spectral distance and ears do. Its optimum is the median of what the input
    leaves possible, and where the input cannot tell a loud frame (a sibilant, a cymbal) from a quiet one, the
    median of the loud frames lies under them: the band's power over a passage, which its loud frames make, comes
    out several dB low. So the loss also holds each band's power over the whole segment (the log of its mean
    power) to the reference's, `segment_weight` times as much as the frames (the two optima differ where the input
    cannot tell loud frames from quiet ones: a heavier segment term moves the band's power over a passage towards
    the reference's and its median frame over it)."""
    bands = predicted.shape[1]
    centres = (torch.arange(bands, device=predicted.device) + 0.5) / bands
    weight = mask * (centres[None, :] <= trusted.float()[:, None] + 1e-6).to(mask.dtype)
    predicted, target = predicted.float(), target.float()
    framewise = (predicted - target).abs().mean(dim=-1)  # (B, bands)
    segment = (mean_power_log(predicted) - mean_power_log(target)).abs()
    return ((framewise + segment_weight * segment) * weight).sum() / weight.sum().clamp_min(1.0)


def mean_power_log(log_power: torch.Tensor) -> torch.Tensor:
    """log10 of the mean over the last axis of `10 ** log_power`, computed stably: `(..., frames)` -> `(...)`."""
    ln10 = math.log(10.0)
    return (torch.logsumexp(log_power * ln10, dim=-1) - math.log(log_power.shape[-1])) / ln10


def training_loss(denoiser, scheduler, batch: dict, generator: torch.Generator, diffusion: bool = True,
                  segment_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """The losses of one batch `{"target", "cond": (B, 1, T), "bandwidth", "trusted": (B,)}`: level-normalise,
    tilt, noise at a uniform random timestep of `scheduler`'s noise schedule, predict v, compare; and the envelope
    error. `denoiser` may be wrapped for distributed training; `generator` draws the noise and timesteps.
    `diffusion=False` leaves the diffusion out (only the envelope predictor learns); `segment_weight`: the
    envelope's segment term against its frame-by-frame term (`envelope_loss`).

    Returns `{"loss": total, "loss/diffusion": ..., "loss/envelope": ...}` (each part where it is computed)."""
    model = getattr(denoiser, "module", denoiser)
    gain = level_gain(batch["cond"])
    plain, cond = batch["target"] * gain, batch["cond"] * gain
    parts = {}
    if diffusion:
        x0 = model.whiten(plain)
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        steps = torch.randint(0, scheduler.config.num_train_timesteps, (x0.shape[0],), generator=generator)
        noisy, velocity = noised(x0, noise, scheduler.alphas_cumprod, steps)
        prediction = denoiser(noisy, cond, batch["bandwidth"], steps.to(x0.device))
        parts["loss/diffusion"] = spectral_mse(prediction, velocity, batch["trusted"])
    if model.envelope is not None:
        reference, mask = model.envelope_target(plain, batch["bandwidth"])
        predicted = model.predict_envelope(cond, batch["bandwidth"])
        parts["loss/envelope"] = envelope_loss(predicted, reference, mask, batch["trusted"], segment_weight)
    parts["loss"] = parts.get("loss/diffusion", 0.0) + ENVELOPE_WEIGHT * parts.get("loss/envelope", 0.0)
    return parts
