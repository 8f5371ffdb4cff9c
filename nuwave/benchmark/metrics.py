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

import numpy as np
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


# The generated band's diagnostics ----------------------------------------------------------------------------
# Frames are classed by the reference's frame power (the LSD front end, summed over bins) against its loudest
# frame: active within ACTIVE_DB of it, pauses more than PAUSE_DB under it (frames in between are neither).
ACTIVE_DB = 40.0
PAUSE_DB = 50.0
# Octaves above the cutoff reported one by one (the last one ends at the Nyquist frequency).
OCTAVES = 3
# Runs of exact zeros in the reference at least this long (seconds) are digital silence inside the recording;
# the output is measured inside them, this far (seconds) from their edges.
SILENCE_SECONDS = 0.1
SILENCE_MARGIN = 0.05


def octave_edges(cutoff_hz: float, output_rate: int) -> list[tuple[float, float]]:
    """`[(low, high)]` Hz: octaves above `cutoff_hz`, the last cut at the Nyquist frequency (at most `OCTAVES`;
    the rest of the band joins the last)."""
    nyquist = output_rate / 2
    edges, low = [], cutoff_hz
    while low < nyquist * 0.999 and len(edges) < OCTAVES:
        edges.append((low, min(2 * low, nyquist)))
        low *= 2
    if edges:
        edges[-1] = (edges[-1][0], nyquist)
    return edges


def band_diagnostics(prediction: torch.Tensor, reference: torch.Tensor, cutoff_hz: float, output_rate: int) -> dict:
    """Where a generated band goes wrong, per item (each `(B,)`; NaN where a quantity has no frames):

    - `band_db_1` .. `band_db_3`: in active frames, the power of each octave above the cutoff against the
      reference's, in dB (`10 log10(sum P_pred / sum P_ref)` over those frames and bins);
    - `pause_db`: the same for the whole band above the cutoff in pause frames;
    - `lsd_active`, `lsd_pause`: the LSD over active / pause frames;
    - `silence_dbfs`: the output's RMS (dBFS, floored at -200) inside the reference's digital silence;
    - `band_coherence`: the correlation of the output's band above the cutoff with the reference's
      (`band_correlation`): 1 for the reference's own waveform, near 0 for a band with its own phase, which at the
      reference's power doubles the waveform error the missing band leaves (up to 3 dB of SNR under sinc's).
    Powers are clamped at the LSD's floor, as the LSD does, so a digitally silent reference frame counts as
    that floor.
    """
    prediction, reference = _batch(prediction), _batch(reference)
    pred_power = 10 ** log_power_spectrogram(prediction)  # (B, bins, frames), clamped at LSD_FLOOR
    ref_power = 10 ** log_power_spectrogram(reference)
    bins = ref_power.shape[1]
    freqs = torch.linspace(0, output_rate / 2, bins, device=ref_power.device)
    frame_db = 10 * torch.log10(ref_power.sum(dim=1))
    loudest = frame_db.max(dim=-1, keepdim=True).values
    active = frame_db >= loudest - ACTIVE_DB
    pause = frame_db < loudest - PAUSE_DB
    squared = (torch.log10(pred_power) - torch.log10(ref_power)) ** 2
    per_frame = squared.mean(dim=1).sqrt()  # (B, frames)

    def ratio_db(frames: torch.Tensor, low: float, high: float) -> torch.Tensor:
        band = ((freqs > low) & (freqs <= high))[None, :, None]
        weight = (frames[:, None, :] & band).float()
        if not bool(band.any()):
            return torch.full(frames.shape[:1], float("nan"), device=frames.device)
        ratio = (pred_power * weight).sum(dim=(1, 2)) / (ref_power * weight).sum(dim=(1, 2))
        return torch.where(frames.any(dim=-1), 10 * torch.log10(ratio), torch.tensor(float("nan")))

    def mean_over(frames: torch.Tensor) -> torch.Tensor:
        count = frames.sum(dim=-1)
        return torch.where(count > 0, (per_frame * frames).sum(dim=-1) / count.clamp_min(1), torch.tensor(float("nan")))

    out = {f"band_db_{k + 1}": torch.full(prediction.shape[:1], float("nan")) for k in range(OCTAVES)}
    for k, (low, high) in enumerate(octave_edges(cutoff_hz, output_rate)):
        out[f"band_db_{k + 1}"] = ratio_db(active, low, high)
    out["pause_db"] = ratio_db(pause, cutoff_hz, output_rate / 2)
    out["lsd_active"], out["lsd_pause"] = mean_over(active), mean_over(pause)
    out["silence_dbfs"] = torch.stack([silence_level(p, r, output_rate) for p, r in zip(prediction, reference)])
    out["band_coherence"] = torch.stack([band_correlation(torch.stack([p, r]), cutoff_hz, output_rate)
                                         for p, r in zip(prediction, reference)])
    return out


def silence_level(prediction: torch.Tensor, reference: torch.Tensor, output_rate: int) -> torch.Tensor:
    """The RMS in dBFS of `prediction` `(T,)` inside the runs of exact zeros of `reference` `(T,)` that last
    `SILENCE_SECONDS` or more, `SILENCE_MARGIN` in from their edges; NaN when there is none, -200 when exactly
    silent there."""
    zero = (reference == 0).cpu().numpy()
    margin, shortest = round(SILENCE_MARGIN * output_rate), round(SILENCE_SECONDS * output_rate)
    inside = torch.zeros_like(reference, dtype=torch.bool)
    change = [0, *(np.flatnonzero(zero[1:] != zero[:-1]) + 1).tolist(), zero.size]
    for start, end in zip(change[:-1], change[1:]):
        if zero[start] and end - start >= shortest and end - start > 2 * margin:
            inside[start + margin : end - margin] = True
    if not bool(inside.any()):
        return torch.tensor(float("nan"))
    return 10 * torch.log10(prediction[inside].double().square().mean().clamp_min(1e-20)).float()


def band_correlation(audio: torch.Tensor, cutoff_hz: float, output_rate: int) -> torch.Tensor:
    """The correlation between the two channels of `(2, T)` audio above `cutoff_hz` (their band-passed
    waveforms, through the LSD's STFT: `Re sum X_L conj(X_R) / sqrt(sum |X_L|^2 sum |X_R|^2)`): +1 for the same
    band in both, -1 for opposite bands, near 0 for unrelated ones; NaN where either channel has no band (an input
    that is full band, a cutoff at the Nyquist frequency): there is nothing to correlate. A scalar tensor."""
    window = torch.hann_window(LSD_N_FFT, device=audio.device)
    spectrum = torch.stft(_batch(audio), LSD_N_FFT, LSD_HOP, window=window, center=True, pad_mode="reflect",
                          return_complex=True)
    freqs = torch.linspace(0, output_rate / 2, spectrum.shape[1], device=audio.device)
    band = spectrum[:, freqs > cutoff_hz]
    cross = (band[0] * band[1].conj()).real.sum()
    norms = band[0].abs().square().sum() * band[1].abs().square().sum()
    if not norms > 0:
        return torch.tensor(float("nan"), device=audio.device)
    return (cross / norms.sqrt()).float()
