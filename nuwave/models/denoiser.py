"""The nuwave denoiser: a conditional diffusion denoiser for 48 kHz waveforms that works on STFT frames.

Why the STFT domain: the missing band is a spectral quantity, and a stack of full-rate dilated convolutions
(NU-Wave 2) spends its compute at 48,000 positions per second. Here every layer runs at the STFT frame rate
(48000 / hop = 187.5 frames per second at the default hop of 256) as dense matrix products, which CPUs and GPUs
execute near their peak, and the inverse STFT turns the predicted complex spectrum back into a waveform of the
exact input length. The backbone is a stack of ConvNeXt blocks (depthwise temporal convolution + pointwise MLP)
whose normalisation is modulated (AdaLN) by an embedding of the noise level and of the input's bandwidth.

Why the diffusion runs on a tilted waveform: natural audio falls steeply with frequency, so at the working level
the band from 8 to 20 kHz lies tens of dB below the unit-variance noise in every STFT bin (the training corpus's
long-term spectrum: eval/results/corpus_spectrum.md, `python scripts/corpus_spectrum.py`). At the noise levels a
few-step sampler visits, that band is invisible, and the best a model can do is predict its conditional mean, a
band far too quiet. The model therefore works on `whiten(audio)`: the waveform raised by `tilt_db_per_octave`
per octave above `tilt_corner_hz` (at most `tilt_max_db`), where every band has a similar power; the pipeline
samples in that domain and undoes the tilt exactly at the end. A tilt of 0 is the plain waveform.

The defaults are the model `nuwave train` builds; `FOLDER_DEFAULTS` are the values of a model folder written
before an option existed (its config does not name it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from nuwave import checkpoints
from nuwave.audio.dsp import spectral_tilt
from nuwave.models.envelope import POWER_FLOOR, EnvelopePredictor, band_log_power, top_level

# What a config.json that does not name an option meant when it was written (before the option existed).
FOLDER_DEFAULTS = {"tilt_db_per_octave": 0.0, "envelope_bands": 0, "envelope_dilation": 1,
                   "envelope_anchor": "frame-mean"}


def sinusoidal_embedding(values: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Transformer-style sinusoidal features of a batch of scalars, `(B,)` -> `(B, dim)`."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=values.device, dtype=torch.float32) / half)
    angles = values.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class ConvNeXtBlock(nn.Module):
    """Depthwise temporal conv (optionally dilated) -> AdaLN(noise level, bandwidth) -> pointwise MLP, with a
    residual connection.

    Works on `(B, frames, C)` throughout (`depthwise_frames`).
    """

    def __init__(self, channels: int, expansion: int, kernel_size: int, embedding_dim: int, dilation: int = 1
                 ) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, kernel_size, padding=dilation * (kernel_size // 2),
                                   dilation=dilation, groups=channels)
        self.norm = nn.LayerNorm(channels, elementwise_affine=False)
        self.modulation = nn.Linear(embedding_dim, 3 * channels)
        self.pointwise_in = nn.Linear(channels, expansion * channels)
        self.pointwise_out = nn.Linear(expansion * channels, channels)
        # Start every block as the identity (zero gate), the usual AdaLN-Zero initialisation.
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, hidden: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(embedding)[:, None, :].chunk(3, dim=-1)
        mixed = torch.addcmul(shift, self.norm(depthwise_frames(self.depthwise, hidden)), 1 + scale)
        return torch.addcmul(hidden, gate, self.pointwise_out(F.gelu(self.pointwise_in(mixed))))


def interleaved(weight: torch.Tensor, dim: int) -> torch.Tensor:
    """A layer's weights (or bias) over `[real parts of every bin, imaginary parts of every bin]` along `dim`,
    reordered to `[real 0, imaginary 0, real 1, ...]`, the order of `torch.view_as_real` of a spectrum."""
    halves = weight.unflatten(dim, (2, weight.shape[dim] // 2))
    return halves.transpose(dim, dim + 1).flatten(dim, dim + 1)


def depthwise_frames(conv: nn.Conv1d, hidden: torch.Tensor) -> torch.Tensor:
    """A depthwise `nn.Conv1d` over the frames of `(B, frames, C)`, returned in the same layout.

    Run as a 2-D convolution on the `(B, C, 1, frames)` view, whose memory is channels-last: no copy in or out,
    and the CPU's channels-last depthwise kernel takes about a third of the time conv1d takes on the transposed
    tensor (which is most of a block's time outside its matrix products). Same weights, same result to float
    rounding."""
    out = F.conv2d(hidden.transpose(1, 2).unsqueeze(2), conv.weight.unsqueeze(2), conv.bias,
                   padding=(0, conv.padding[0]), dilation=(1, conv.dilation[0]), groups=conv.groups)
    return out.squeeze(2).transpose(1, 2)


class NuWaveDenoiser(ModelMixin, ConfigMixin):
    """Predicts the diffusion target (see `nuwave.models.schedule`) for a noisy 48 kHz waveform.

    Inputs of `forward`:
        noisy: `(B, 1, T)` the noisy tilted waveform (`whiten` of the high-rate audio) at the diffusion step.
        cond: `(B, 1, T)` the low-rate input, already resampled to the model rate.
        bandwidth: `(B,)` the input's cutoff frequency divided by the model's Nyquist frequency, in (0, 1].
        timestep: `(B,)` or scalar, the scheduler's timestep (0 = clean, `num_train_timesteps - 1` = noise).
    Returns `(B, 1, T)`, in the tilted domain. Any `T` works: the signal is padded to whole STFT frames internally
    and cropped.
    """

    @register_to_config
    def __init__(
        self,
        sample_rate: int = 48000,
        n_fft: int = 1024,
        hop_length: int = 256,
        channels: int = 256,
        num_blocks: int = 8,
        expansion: int = 3,
        kernel_size: int = 7,
        embedding_dim: int = 128,
        num_train_timesteps: int = 1000,
        tilt_db_per_octave: float = 7.0,
        tilt_corner_hz: float = 500.0,
        tilt_max_db: float = 36.0,
        envelope_bands: int = 32,
        envelope_channels: int = 128,
        envelope_blocks: int = 3,
        envelope_dilation: int = 2,
        envelope_anchor: str = "blend",
    ) -> None:
        super().__init__()
        bins = n_fft // 2 + 1
        # Features per frame: real and imaginary parts of the noisy and the conditioning spectra, and the
        # log-magnitude of the condition (`forward`, `encode_condition`).
        self.input_projection = nn.Linear(5 * bins, channels)
        self.embedding = nn.Sequential(
            nn.Linear(2 * embedding_dim, embedding_dim), nn.SiLU(), nn.Linear(embedding_dim, embedding_dim), nn.SiLU()
        )
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(channels, expansion, kernel_size, embedding_dim) for _ in range(num_blocks)
        )
        self.final_norm = nn.LayerNorm(channels, elementwise_affine=False)
        self.final_modulation = nn.Linear(embedding_dim, 2 * channels)
        self.output_projection = nn.Linear(channels, 2 * bins)
        # A per-bin gain on the noisy spectrum, set by the noise level: the part of the target that is a scaled
        # copy of the input (large at low noise) need not squeeze through the frame-rate bottleneck.
        self.input_skip = nn.Linear(embedding_dim, bins)
        for layer in (self.final_modulation, self.output_projection, self.input_skip):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        # The envelope of the missing band, from the input alone (`nuwave.models.envelope`); 0 bands: none.
        self.envelope = None
        if envelope_bands > 0:
            self.envelope_embedding = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.SiLU())
            self.envelope = EnvelopePredictor(bins, envelope_bands, envelope_channels, envelope_blocks, embedding_dim,
                                              ConvNeXtBlock, envelope_dilation, envelope_anchor)

    @classmethod
    def load_config(cls, *args, **kwargs):
        """diffusers' config reader, with `FOLDER_DEFAULTS` for the options a folder's config does not name."""
        loaded = super().load_config(*args, **kwargs)
        config = loaded[0] if isinstance(loaded, tuple) else loaded
        for name, value in FOLDER_DEFAULTS.items():
            config.setdefault(name, value)
        return loaded

    @classmethod
    def from_pretrained(cls, *args, **kwargs) -> "NuWaveDenoiser":
        """diffusers' loader, then every tensor copied to freshly allocated memory.

        safetensors hands out tensors at 16-byte offsets into the file; the CPU matrix kernels take another code
        path for unaligned operands, whose results differ in the last bit. Copying gives a loaded model the
        same numerics as the one that was saved, so a seed reproduces audio bit for bit.
        """
        if args:  # a shipped model's name stands for its installed folder (`nuwave.checkpoints`)
            args = (checkpoints.resolve(args[0]), *args[1:])
        model = super().from_pretrained(*args, **kwargs)
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                tensor.data = tensor.data.clone()
        return model

    def whiten(self, audio: torch.Tensor) -> torch.Tensor:
        """High-rate waveform `(..., T)` -> the tilted domain the diffusion runs in."""
        cfg = self.config
        return spectral_tilt(audio, cfg.sample_rate, cfg.tilt_db_per_octave, cfg.tilt_corner_hz, cfg.tilt_max_db)

    def unwhiten(self, audio: torch.Tensor) -> torch.Tensor:
        """The exact inverse of `whiten`."""
        cfg = self.config
        return spectral_tilt(audio, cfg.sample_rate, cfg.tilt_db_per_octave, cfg.tilt_corner_hz, cfg.tilt_max_db,
                             inverse=True)

    def _window(self, device: torch.device) -> torch.Tensor:
        """The STFT window, always float32: the transforms stay exact whatever precision the layers run in."""
        return torch.hann_window(self.config.n_fft, device=device, dtype=torch.float32)

    def _stft(self, audio: torch.Tensor) -> torch.Tensor:
        """`(B, T)` float32 -> complex `(B, bins, frames)`."""
        n_fft, hop = self.config.n_fft, self.config.hop_length
        return torch.stft(
            audio, n_fft, hop, window=self._window(audio.device), center=True, pad_mode="constant", normalized=True,
            return_complex=True,
        )

    def _istft(self, spectrum: torch.Tensor, length: int) -> torch.Tensor:
        n_fft, hop = self.config.n_fft, self.config.hop_length
        return torch.istft(spectrum, n_fft, hop, window=self._window(spectrum.device), center=True, normalized=True,
                           length=length)

    def _padded(self, audio: torch.Tensor) -> torch.Tensor:
        """`(..., T)` zero-padded at the end to whole hops, so that frames line up everywhere."""
        hop = self.config.hop_length
        return F.pad(audio, (0, (-audio.shape[-1]) % hop))

    def spectrum(self, audio: torch.Tensor) -> torch.Tensor:
        """`(B, 1, T)` waveform -> complex `(B, bins, frames)` on the model's frames."""
        return self._stft(self._padded(audio[:, 0].float()))

    def waveform(self, spectrum: torch.Tensor, length: int) -> torch.Tensor:
        """The inverse of `spectrum`: complex `(B, bins, frames)` -> `(B, 1, length)`."""
        return self._istft(spectrum, spectrum.shape[-1] * self.config.hop_length - self.config.hop_length)[
            :, None, :length]

    def envelope_target(self, target: torch.Tensor, bandwidth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The band envelope of a (level-normalised) waveform `(B, 1, T)` above the cutoff: log10 power
        `(B, bands, frames)` and the mask of bands that lie above it `(B, bands)`."""
        return band_log_power(self.spectrum(target).abs().square(), bandwidth, self.config.envelope_bands)

    def predict_envelope(self, cond: torch.Tensor, bandwidth: torch.Tensor | float,
                         power: torch.Tensor | None = None, level: torch.Tensor | None = None) -> torch.Tensor:
        """Log10 band power `(B, bands, frames)` of the missing band, from the level-normalised condition
        `(B, 1, T)` and its bandwidth (cutoff / Nyquist); `power`: the condition's STFT power
        (`spectrum(cond).abs().square()`) and `level`: the power of its top (`top_level(power, bandwidth,
        sample_rate)`, used by the "blend" and "input-top" anchors), when the caller already has them."""
        if self.envelope is None:
            raise ValueError("this model has no envelope predictor (envelope_bands = 0)")
        bandwidth = torch.as_tensor(bandwidth, device=cond.device, dtype=torch.float32).reshape(-1).expand(
            cond.shape[0])
        band = sinusoidal_embedding(bandwidth.clamp(0.0, 1.0) * 1000.0, self.config.embedding_dim)
        embedding = self.envelope_embedding(band.to(self.envelope.head.weight.dtype))
        power = self.spectrum(cond).abs().square() if power is None else power
        log_spectrum = torch.log10(power + POWER_FLOOR).transpose(1, 2)  # (B, frames, bins)
        log_top = None
        if self.envelope.uses_top:
            level = top_level(power, bandwidth, self.config.sample_rate) if level is None else level
            log_top = torch.log10(level + POWER_FLOOR).to(embedding.dtype)
        return self.envelope(log_spectrum.to(embedding.dtype), embedding, log_top).float()

    def condition_embedding(self, timestep: torch.Tensor, bandwidth: torch.Tensor) -> torch.Tensor:
        """`(B,)`, `(B,)` -> `(B, embedding_dim)`: the noise level and the bandwidth, embedded together."""
        dim = self.config.embedding_dim
        noise_level = sinusoidal_embedding(timestep * (1000.0 / self.config.num_train_timesteps), dim)
        band = sinusoidal_embedding(bandwidth.clamp(0.0, 1.0) * 1000.0, dim)
        features = torch.cat([noise_level, band], dim=-1)
        return self.embedding(features.to(self.embedding[0].weight.dtype))

    def encode_condition(self, cond: torch.Tensor) -> torch.Tensor:
        """The condition's share of the input projection, `(B, 1, T)` -> `(B, frames, channels)` (bias included).

        The input projection is linear in the per-frame features, so it splits into a part from the noisy sample
        and a part from the condition; the latter is the same at every step of a sampling, which computes it
        once (`forward`'s `encoded_condition`) instead of repeating the condition's tilt, STFT and projection."""
        cond_spec = self._stft(self.whiten(self._padded(cond)[:, 0].float()))
        # The log-magnitude of the condition: its dynamic range is what the real and imaginary parts hide.
        features = torch.cat([cond_spec.real, cond_spec.imag, torch.log(cond_spec.abs().square() + 1e-6)],
                             dim=1).transpose(1, 2)  # (B, frames, 3 * bins)
        weight = self.input_projection.weight[:, 2 * cond_spec.shape[1]:]
        return F.linear(features.to(weight.dtype), weight, self.input_projection.bias)

    def forward(
        self, noisy: torch.Tensor, cond: torch.Tensor, bandwidth: torch.Tensor, timestep: torch.Tensor | float,
        encoded_condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`encoded_condition`: `encode_condition(cond)`, when the caller has it (a sampler, once per sampling)."""
        batch, _, length = noisy.shape
        noisy = self._padded(noisy)
        padded = noisy.shape[-1]
        timestep = torch.as_tensor(timestep, device=noisy.device, dtype=torch.float32).reshape(-1).expand(batch)
        bandwidth = torch.as_tensor(bandwidth, device=noisy.device, dtype=torch.float32).reshape(-1).expand(batch)
        embedding = self.condition_embedding(timestep, bandwidth)
        if encoded_condition is None:
            encoded_condition = self.encode_condition(cond)

        # Features per frame: the real and imaginary parts of the noisy spectrum, beside the condition's. The STFT's
        # memory is frame by frame, bins interleaved as (real, imaginary): the projection's weights are read in that
        # order rather than the spectrum copied into theirs (`interleaved`), and so are the output's.
        noisy_spec = self._stft(noisy[:, 0].float())
        bins = noisy_spec.shape[1]
        features = torch.view_as_real(noisy_spec.transpose(1, 2)).flatten(2)  # (B, frames, 2 * bins)
        weight = interleaved(self.input_projection.weight[:, : 2 * bins], dim=1)
        hidden = F.linear(features.to(weight.dtype), weight) + encoded_condition
        for block in self.blocks:
            hidden = block(hidden, embedding)
        shift, scale = self.final_modulation(embedding)[:, None, :].chunk(2, dim=-1)
        hidden = torch.addcmul(shift, self.final_norm(hidden), 1 + scale)
        output = F.linear(hidden, interleaved(self.output_projection.weight, dim=0),
                          interleaved(self.output_projection.bias, dim=0)).float()
        predicted = torch.view_as_complex(output.unflatten(-1, (bins, 2))).transpose(1, 2)  # (B, bins, frames)
        spectrum = predicted + self.input_skip(embedding).float()[:, :, None] * noisy_spec
        return self._istft(spectrum, padded)[:, None, :length]
