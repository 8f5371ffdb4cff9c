"""The envelope of the missing band: its log power per frame and frequency band, predicted from the input alone.

Why: the diffusion model's sample at a low temperature is close to its posterior mean, and the mean of a band
whose phase the input cannot predict is far quieter than the band itself; a mean-squared-error model also weighs
the 8-24 kHz band by its energy, so an error of 10-30 dB there costs it little. The level of that band per frame
and band, however, is largely predictable from the input (a fricative, a cymbal, a pause), and a log-power
regression weighs every band alike, as the log-spectral distance and ears do. So the denoiser carries a small
envelope predictor, trained with an L1 loss on the log band power of the level-normalised reference, and the
pipeline brings the generated band to the predicted envelope: the diffusion supplies the fine structure, the
envelope its level, frame by frame (a pause stays as quiet as the input says, a band where the input's kind of
sound has nothing stays empty).

Bands are equal slices of the model's STFT bins (linear frequency, as the LSD weighs bins). A band's power is
the mean power of its bins *above the input's cutoff* (the known band is the input's own); a band wholly below
the cutoff has no value (the mask says so).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nuwave.audio.cutoff import TOP_HZ, top_end
from nuwave.models import ENVELOPE_ANCHORS

# The floor of band powers, in the level-normalised domain (the working level is an RMS of 0.2, about
# -14 dBFS): 1e-13 lies 115 dB under it, far below any recording's noise floor, so digital silence predicts
# digital silence.
POWER_FLOOR = 1e-13


def band_edges(bins: int, bands: int) -> torch.Tensor:
    """`(bands + 1,)` bin indices: band `k` holds bins `[edges[k], edges[k + 1])`; the last band takes the rest."""
    edges = torch.linspace(0, bins - 1, bands + 1).round().long()
    edges[-1] = bins
    return edges


def band_membership(bins: int, bands: int, device=None) -> torch.Tensor:
    """`(bands, bins)` 0/1 matrix: which band each STFT bin belongs to."""
    edges = band_edges(bins, bands).to(device)
    index = torch.arange(bins, device=device)
    return ((index[None, :] >= edges[:-1, None]) & (index[None, :] < edges[1:, None])).float()


def generated_bins(bandwidth: torch.Tensor, bins: int) -> torch.Tensor:
    """`(B, bins)` 0/1: the bins strictly above each item's cutoff (`bandwidth` = cutoff / Nyquist, `(B,)`)."""
    freqs = torch.linspace(0.0, 1.0, bins, device=bandwidth.device)[None, :]
    return (freqs > bandwidth.float()[:, None]).float()


def top_hedge_gain(bandwidth: torch.Tensor, bins: int, sample_rate: float, db: float,
                   ramp_hz: tuple[float, float]) -> torch.Tensor:
    """`(B, bins)` amplitude gains: 1 at and under each item's cutoff (`bandwidth` = cutoff / Nyquist, `(B,)`) and
    under `ramp_hz[0]`; above the cutoff, falling linearly in dB to `-db` over `ramp_hz` and held there to the
    Nyquist frequency of `sample_rate` (the pipeline's hedge on where a recording's content ends)."""
    freqs = torch.linspace(0.0, sample_rate / 2, bins, device=bandwidth.device)[None, :]
    low, high = ramp_hz
    ramp = ((freqs - low) / (high - low)).clamp(0.0, 1.0)
    return 1.0 + generated_bins(bandwidth, bins) * (10.0 ** (-db * ramp / 20.0) - 1.0)


def band_log_power(power: torch.Tensor, bandwidth: torch.Tensor, bands: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Log10 band power above the cutoff and its mask.

    power: `(B, bins, frames)` STFT power; bandwidth: `(B,)` cutoff / Nyquist.
    Returns `(B, bands, frames)` log10 of the mean power of each band's bins above the cutoff (floored at
    `POWER_FLOOR`), and `(B, bands)` 1 where a band has such bins.
    """
    bins = power.shape[1]
    membership = band_membership(bins, bands, power.device)  # (bands, bins)
    above = membership[None] * generated_bins(bandwidth, bins)[:, None, :]  # (B, bands, bins)
    count = above.sum(-1)
    mean = torch.einsum("bkf,bft->bkt", above, power.float()) / count.clamp_min(1.0)[:, :, None]
    return torch.log10(mean.clamp_min(POWER_FLOOR)), (count > 0).float()


# What the predictor's band levels are relative to, per frame (`EnvelopePredictor`):
#   "blend": the frame's mean log power over all bins, moved towards the log power of the input's top
#       (`top_level`) by a learned share per band and frame: where the band continues the input's top, it follows
#       it through an attack and a decay (a hi-hat's band rises and falls with its top octave, tens of dB in a few
#       frames, while the frame's mean moves far less); where the top says little (a cutoff far under the band,
#       a voice whose top is its formants), the share can stay near 0. The share starts at 0, so a predictor
#       fine-tuned from "frame-mean" starts where it was;
#   "input-top": the input's top alone;
#   "frame-mean": the frame's mean alone (the models shipped before the option existed).
# (The names live in `nuwave.models`, which imports no torch, so that the training options can offer them.)


def top_level(power: torch.Tensor, bandwidth: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Per frame, the mean power of the input's `TOP_HZ` just under its cutoff, less the resampler's transition
    band (`nuwave.audio.cutoff.top_end`): `(B, bins, frames)` STFT power, `(B,)` cutoff / Nyquist -> `(B, frames)`."""
    bins, nyquist = power.shape[1], sample_rate / 2
    freqs = torch.linspace(0.0, nyquist, bins, device=power.device)[None, :]
    top = (top_end(bandwidth.float()) * nyquist)[:, None]  # (B, 1) Hz
    edge = ((freqs > top - TOP_HZ) & (freqs <= top)).float()  # (B, bins)
    return torch.einsum("bf,bft->bt", edge, power.float()) / edge.sum(-1, keepdim=True).clamp_min(1.0)


# An MP3 encoder short of bits zeroes the top of the band it keeps one granule (576 samples) at a time (the holes
# `nuwave.audio.dsp.fill_codec_holes` fills): in those frames the input's top reads as silent though the
# recording's is not, and a band anchored to it, or held under its continuation, would drop out with it.
CODEC_GRANULE = 576


def codec_top_level(level: torch.Tensor, hop_length: int) -> torch.Tensor:
    """`top_level` `(B, frames)` of an input under a codec's cut, read through the encoder's granule holes: each
    frame's maximum over `CODEC_GRANULE` samples either side (in whole frames of `hop_length`)."""
    reach = max(1, round(CODEC_GRANULE / hop_length))
    return F.max_pool1d(level[:, None], 2 * reach + 1, 1, reach)[:, 0]


class EnvelopePredictor(nn.Module):
    """Input log spectrum `(B, frames, bins)`, a bandwidth embedding `(B, E)` and the log power of the input's top
    `(B, frames)` (`top_level`) -> log10 band power `(B, bands, frames)`, predicted as the anchor
    (`ENVELOPE_ANCHORS`) plus a learned offset per band. A linear projection, a few AdaLN ConvNeXt blocks (kernel 7,
    block k dilated by `dilation ** k`: at the default hop and 3 blocks, 1 + 6 (1 + 2 + 4) frames, about 230 ms of
    context, in which a voice's or an instrument's brightness shows beyond one syllable or stroke), and linear
    heads: the offset, and with the "blend" anchor the share of the top per band."""

    def __init__(self, bins: int, bands: int, channels: int, num_blocks: int, embedding_dim: int,
                 block: type[nn.Module], dilation: int = 1, anchor: str = "frame-mean") -> None:
        super().__init__()
        if anchor not in ENVELOPE_ANCHORS:
            raise ValueError(f"envelope_anchor {anchor!r}: choose one of {', '.join(ENVELOPE_ANCHORS)}")
        self.bands = bands
        self.anchor = anchor
        self.input_projection = nn.Linear(bins, channels)
        self.blocks = nn.ModuleList(block(channels, 2, 7, embedding_dim, dilation**index)
                                    for index in range(num_blocks))
        self.final_norm = nn.LayerNorm(channels)
        self.head = nn.Linear(channels, bands)
        # Start from "the band is as loud as the anchor": a neutral guess the loss corrects.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.top_share = None
        if anchor == "blend":
            self.top_share = nn.Linear(channels, bands)
            nn.init.zeros_(self.top_share.weight)
            nn.init.zeros_(self.top_share.bias)

    @property
    def uses_top(self) -> bool:
        """Whether the anchor needs the log power of the input's top (`forward`'s `log_top`)."""
        return self.anchor != "frame-mean"

    def forward(self, log_spectrum: torch.Tensor, embedding: torch.Tensor, log_top: torch.Tensor | None
                ) -> torch.Tensor:
        """`log_top` may be None for an anchor that does not use it (`uses_top`)."""
        hidden = self.input_projection(log_spectrum)
        for block in self.blocks:
            hidden = block(hidden, embedding)
        hidden = self.final_norm(hidden)
        mean = log_spectrum.mean(dim=-1)  # (B, frames)
        if self.anchor == "input-top":
            anchor = log_top[:, :, None]
        elif self.anchor == "frame-mean":
            anchor = mean[:, :, None]
        else:
            anchor = mean[:, :, None] + self.top_share(hidden) * (log_top - mean)[:, :, None]
        return (self.head(hidden) + anchor).transpose(1, 2)


def shape_to_envelope(spectrum: torch.Tensor, envelope: torch.Tensor, bandwidth: torch.Tensor,
                      max_gain_db: float = 40.0, handover: float = 0.0) -> torch.Tensor:
    """Bring the bins above the cutoff of `spectrum` `(B, bins, frames)` (complex) to the band powers of
    `envelope` `(B, bands, frames)` (log10), each band by one real gain per frame (the fine structure within a
    band and every phase are kept). Gains are capped at `max_gain_db`, so a band the sampler left empty is not
    blown up from rounding noise. Bins at or below the cutoff are unchanged, but for the top `handover` fraction
    of the cutoff, which takes the gain of the first band above it: the share of the known band that the merge may
    still take from the generated signal (`nuwave.audio.dsp.merge_known_band`), kept at the level of what follows
    it."""
    bins, bands = spectrum.shape[1], envelope.shape[1]
    actual, _ = band_log_power(spectrum.abs().square(), bandwidth, bands)
    log_gain = (0.5 * (envelope.float() - actual)).clamp(max=max_gain_db / 20.0)
    membership = band_membership(bins, bands, spectrum.device)
    gain = 10.0 ** torch.einsum("kf,bkt->bft", membership, log_gain)
    above = generated_bins(bandwidth, bins)
    # the handover (none without one) takes the gain of each item's first band above its cutoff, frame by frame
    under = generated_bins(bandwidth * (1.0 - handover), bins) * (1.0 - above)
    first = (membership[None] * above[:, None, :]).amax(dim=2).argmax(dim=1)  # (B,)
    first_gain = 10.0 ** log_gain[torch.arange(len(first), device=first.device), first]  # (B, frames)
    return spectrum * (above[:, :, None] * gain + under[:, :, None] * first_gain[:, None, :]
                       + (1.0 - above - under)[:, :, None])


def continuation_ceiling(cond_power: torch.Tensor, bandwidth: torch.Tensor, bands: int, sample_rate: float,
                         slope_db_per_khz: torch.Tensor | None = None, level: torch.Tensor | None = None
                         ) -> torch.Tensor:
    """Per frame, the log10 band power that continues the input's top into the band above its cutoff: the mean
    power of the input's `TOP_HZ` just under the cutoff (less the resampler's transition band), level or, given a
    slope, falling at it from the middle of that band on. For an input whose cutoff is a lossy codec's, the band
    the codec removed goes on from where the input stops; no band is generated above that.

    The pipeline holds the band level (no slope) and leaves its fall to the envelope predictor: a slope read from
    the input's own top (`nuwave.audio.cutoff.top_slope`, the 1.5 kHz under the cut against the 1.5 kHz under
    that) extrapolates a local shape, made steeper by the encoder's holes, over up to an octave, and held the band
    of music far under its reference (`python scripts/codec_top.py`).

    cond_power: `(B, bins, frames)` the condition's STFT power; bandwidth: `(B,)` cutoff / Nyquist;
    slope_db_per_khz: `(B,)` at most 0, or None for none; level: `top_level(cond_power, bandwidth,
    sample_rate)` when the caller has it. Returns `(B, bands, frames)`."""
    bins, nyquist = cond_power.shape[1], sample_rate / 2
    top = (top_end(bandwidth.float()) * nyquist)[:, None]  # (B, 1) Hz
    level = top_level(cond_power, bandwidth, sample_rate) if level is None else level
    edges = band_edges(bins, bands).to(cond_power.device).float()
    centres = (edges[:-1] + edges[1:] - 1) / 2 / (bins - 1) * nyquist  # (bands,) Hz
    distance_khz = (centres[None, :] - (top - TOP_HZ / 2)).clamp_min(0.0) / 1000  # (B, bands)
    slope = torch.zeros_like(bandwidth) if slope_db_per_khz is None else slope_db_per_khz
    fall = slope.float().clamp(max=0.0)[:, None] * distance_khz / 10  # bels
    return torch.log10(level.clamp_min(POWER_FLOOR))[:, None, :] + fall[:, :, None]
