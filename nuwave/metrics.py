"""The benchmark's metrics, exactly as the literature computes them (see README, "Evaluation").

All take the prediction and the reference as aligned, equal-length signals at the output rate, `(T,)` or
`(B, T)` tensors, on any device, and return one value per item (`(B,)`). No clipping and no rescaling is applied.

- LSD (NU-Wave, NU-Wave 2, AP-BWE, AERO...): `torch.stft(n_fft=2048, hop_length=512, window=hann(2048),
  center=True)` with reflect padding, power `|X|^2`, `log10(clamp(power, min=1e-8))`; per frame the RMS over bins
  of the difference, then the mean over frames. LSD-HF / LSD-LF: the same over bins `[hf, 1025)` / `[0, hf)`
  with `hf = int(1025 * input_rate / output_rate)`.
- SNR: `20 log10(||y|| / max(||y_hat - y||, 1e-8))`.
- SI-SDR (Le Roux et al. 2019): `10 log10(||a y||^2 / ||a y - y_hat||^2)` with `a = <y_hat, y> / ||y||^2`.
- MR-STFT: auraloss `MultiResolutionSTFTLoss()` at its defaults: FFT sizes 1024, 2048, 512; hops 120, 240, 50;
  windows 600, 1200, 240 (Hann); spectral convergence + log-magnitude distance, averaged over resolutions.
"""

from __future__ import annotations

import torch

LSD_N_FFT = 2048
LSD_HOP = 512
LSD_FLOOR = 1e-8
SNR_FLOOR = 1e-8


def _batch(x: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x)
    return (x[None] if x.ndim == 1 else x).float()


def log_power_spectrogram(audio: torch.Tensor) -> torch.Tensor:
    """`(B, T)` -> `(B, 1025, frames)`: log10 of the clamped STFT power, the standard LSD front end."""
    window = torch.hann_window(LSD_N_FFT, device=audio.device)
    spectrum = torch.stft(audio, LSD_N_FFT, LSD_HOP, window=window, center=True, pad_mode="reflect",
                          return_complex=True)
    return torch.log10(torch.clamp(spectrum.abs() ** 2, min=LSD_FLOOR))


def lsd_split(prediction: torch.Tensor, reference: torch.Tensor, input_rate: float, output_rate: int) -> dict:
    """LSD, LSD-HF and LSD-LF per item, each `(B,)`. `input_rate` sets the split bin (for a codec-limited input,
    twice its cutoff)."""
    diff = (log_power_spectrogram(_batch(prediction)) - log_power_spectrogram(_batch(reference))) ** 2
    bins = diff.shape[1]
    split = int(bins * input_rate / output_rate)

    def band(low: int, high: int) -> torch.Tensor:
        if high <= low:
            return torch.full(diff.shape[:1], float("nan"), device=diff.device)
        return diff[:, low:high].mean(dim=1).sqrt().mean(dim=-1)

    return {"lsd": band(0, bins), "lsd_hf": band(split, bins), "lsd_lf": band(0, split)}


def snr(prediction: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio in dB per item, `(B,)`."""
    prediction, reference = _batch(prediction), _batch(reference)
    error = torch.linalg.vector_norm(prediction - reference, dim=-1).clamp_min(SNR_FLOOR)
    return 20 * torch.log10(torch.linalg.vector_norm(reference, dim=-1) / error)


def si_sdr(prediction: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB per item, `(B,)`."""
    prediction, reference = _batch(prediction).double(), _batch(reference).double()
    scale = (prediction * reference).sum(-1, keepdim=True) / reference.square().sum(-1, keepdim=True).clamp_min(1e-20)
    target = scale * reference
    ratio = target.square().sum(-1) / (target - prediction).square().sum(-1).clamp_min(1e-20)
    return (10 * torch.log10(ratio.clamp_min(1e-20))).float()


def mrstft(prediction: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """auraloss multi-resolution STFT distance per item (defaults, see module docstring), `(B,)`."""
    from auraloss.freq import MultiResolutionSTFTLoss

    loss = MultiResolutionSTFTLoss().to(_batch(prediction).device)
    prediction, reference = _batch(prediction), _batch(reference)
    return torch.stack([loss(p[None, None], r[None, None]) for p, r in zip(prediction, reference)])


def all_metrics(prediction: torch.Tensor, reference: torch.Tensor, input_rate: float, output_rate: int) -> dict:
    """Every benchmark metric per item: lsd, lsd_hf, lsd_lf, snr, si_sdr, mrstft (each `(B,)`)."""
    return {
        **lsd_split(prediction, reference, input_rate, output_rate),
        "snr": snr(prediction, reference),
        "si_sdr": si_sdr(prediction, reference),
        "mrstft": mrstft(prediction, reference),
    }
