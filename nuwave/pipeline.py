"""`NuWavePipeline`: low-rate waveform in, high-rate waveform out. Owns the diffusion loop and nothing about files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from nuwave.dsp import level_gain, merge_known_band, resample
from nuwave.models.denoiser import NuWaveDenoiser
from nuwave.models.envelope import generated_bins, shape_to_envelope
from nuwave.schedule import (
    DEFAULT_SCHEDULER,
    DEFAULT_TEMPERATURE,
    check_steps,
    check_temperature,
    make_sampler,
    predicted_sample,
)

AudioArray = Union[np.ndarray, torch.Tensor]
# A cutoff this close to the lower of the output's and the model's Nyquist frequencies leaves nothing to
# generate. An input whose content stops at 19-21 kHz is *not* full band: a 128 kbit/s MP3 of a 44.1 kHz
# recording stops there, and the band above is the one its reference has and it lacks.
FULL_BAND = 0.98


def is_full_band(cutoff_hz: float, target_rate: float, model_rate: float) -> bool:
    """Whether an input whose content reaches `cutoff_hz` leaves nothing to generate at `target_rate`."""
    return cutoff_hz >= FULL_BAND * min(target_rate, model_rate) / 2


# How the channels of an item are generated. mid-side: a stereo pair as its mid (L + R) / sqrt 2 and side
# (L - R) / sqrt 2, each from its own noise, so the generated band follows each channel (identical channels get
# identical bands, L = -R gets opposite bands, unrelated channels unrelated bands); other channel counts as
# "independent". independent: each channel its own noise. shared: every channel the same noise.
CHANNEL_MODES = ("mid-side", "independent", "shared")
DEFAULT_CHANNEL_MODE = "mid-side"
# Frames of the input whose STFT power per bin is below this (about -136 dBFS for white noise, under 24-bit
# quantisation) are digital silence: nothing is generated there, as the recording had nothing there.
DIGITAL_SILENCE_POWER = 1e-14


def mid_side(batch: np.ndarray) -> np.ndarray:
    """`(B, 2, T)` left / right <-> mid / side; orthonormal, so it is its own inverse and keeps the power."""
    left, right = batch[:, :1], batch[:, 1:]
    return np.concatenate([left + right, left - right], axis=1) * np.float32(np.sqrt(0.5))


@dataclass
class NuWaveOutput(BaseOutput):
    """audios: the result, same type and layout as the input; sample_rate in Hz; bandwidth: cutoff / Nyquist used;
    model_evaluations: how many times the denoiser ran (0 for a full-band input)."""

    audios: AudioArray
    sample_rate: int
    bandwidth: float
    model_evaluations: int


def _as_batch(audio: AudioArray) -> tuple[np.ndarray, tuple[int, ...], bool]:
    """Any of `(T,)`, `(C, T)`, `(B, C, T)` -> float32 `(B, C, T)`, the original leading shape, and torch-ness."""
    is_torch = isinstance(audio, torch.Tensor)
    array = audio.detach().cpu().float().numpy() if is_torch else np.asarray(audio, dtype=np.float32)
    if array.ndim not in (1, 2, 3):
        raise ValueError(f"audio must have shape (T,), (C, T) or (B, C, T), got {array.shape}")
    lead = array.shape[:-1]
    return array.reshape((-1 if array.ndim == 3 else 1), (array.shape[-2] if array.ndim >= 2 else 1), array.shape[-1]), lead, is_torch


class NuWavePipeline(DiffusionPipeline):
    """Bandwidth extension by conditional waveform diffusion.

    `denoiser` is a `NuWaveDenoiser`; `scheduler` holds the noise schedule the denoiser was trained with. The
    sampler named at call time is built from that scheduler's config (`nuwave.schedule.make_sampler`).
    """

    model_cpu_offload_seq = "denoiser"

    def __init__(self, denoiser: NuWaveDenoiser, scheduler) -> None:
        super().__init__()
        self.register_modules(denoiser=denoiser, scheduler=scheduler)

    @property
    def model_rate(self) -> int:
        return int(self.denoiser.config.sample_rate)

    @torch.no_grad()
    def __call__(
        self,
        audio: AudioArray,
        sample_rate: int,
        target_rate: int = 48000,
        num_inference_steps: int = 8,
        scheduler: str = DEFAULT_SCHEDULER,
        temperature: float = DEFAULT_TEMPERATURE,
        cutoff: float | None = None,
        top: float | None = None,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        level: float | None = None,
        keep_known_band: bool = True,
        channel_mode: str = DEFAULT_CHANNEL_MODE,
        callback: Callable[[int, int], None] | None = None,
    ) -> NuWaveOutput:
        """Upsample `audio` from `sample_rate` to `target_rate` Hz.

        Args:
            audio: `(T,)`, `(C, T)` or `(B, C, T)` float samples, numpy or torch.
            sample_rate: the input's sample rate in Hz.
            target_rate: the output's sample rate in Hz.
            num_inference_steps: sampler steps, 1 to 1000.
            scheduler: sampler name, one of `nuwave.schedule.SCHEDULERS`.
            temperature: 0 to 1. The result is `mean + temperature * (sample - mean)`, where `mean` is the model's
                posterior-mean estimate (its x0 prediction at the first, pure-noise step; what one step returns)
                and `sample` the sampler's result. 1 keeps the full sample: the generated band has the reference's
                level and texture but its own phase, which costs SNR; lower values trade generated detail for
                waveform fidelity. For a Gaussian posterior this is sampling at that temperature; in general the
                estimators on the distortion-perception frontier interpolate between the MMSE estimate and a
                sample of the right distribution (Freirich, Michaeli & Meir, NeurIPS 2021).
            cutoff: the input's real bandwidth in Hz (default: its Nyquist frequency, `sample_rate / 2`).
            top: where the output's content ends, in Hz (above `cutoff`): nothing is generated above it, for
                recordings known to stop there (many end at 20 kHz). Default: wherever the model puts it.
            generator: seeds the initial noise; the same seed gives the same audio.
            noise: the initial noise itself, `(B, 1 or C, round(T * model_rate / sample_rate))` (overrides
                `generator`; used to make overlapping chunks of a long file start from the same noise).
            level: the RMS of the whole recording, when `audio` is a chunk of it: every chunk is then brought to
                the model's working level by the same gain (default: each item's own RMS).
            keep_known_band: replace the output below the cutoff by the input (the model only adds a band).
            channel_mode: how the channels of an item are generated, one of `CHANNEL_MODES` (see there).
            callback: called as `callback(step, total)` after each sampler step.
        Returns:
            `NuWaveOutput` whose audio has the input's layout and `round(T * target_rate / sample_rate)` samples.
        """
        check_steps(num_inference_steps)
        check_temperature(temperature)
        sampler = make_sampler(scheduler, self.scheduler)
        if channel_mode not in CHANNEL_MODES:
            raise ValueError(f"unknown channel mode {channel_mode!r}; choose one of {', '.join(CHANNEL_MODES)}")
        batch, lead, is_torch = _as_batch(audio)
        num_items, channels, length = batch.shape
        as_mid_side = channel_mode == "mid-side" and channels == 2
        if sample_rate <= 0 or target_rate <= 0:
            raise ValueError("sample rates must be positive")
        if length == 0:
            raise ValueError("audio is empty")
        if not np.isfinite(batch).all():
            raise ValueError("audio contains NaN or infinite samples")
        nyquist = sample_rate / 2
        cutoff = nyquist if cutoff is None else float(cutoff)
        if not 0 < cutoff <= nyquist:
            raise ValueError(f"cutoff {cutoff:g} Hz must be above 0 and at most the input's Nyquist {nyquist:g} Hz")
        bandwidth = min(cutoff / (self.model_rate / 2), 1.0)
        if top is not None and not cutoff < float(top):
            raise ValueError(f"top {float(top):g} Hz must be above the cutoff {cutoff:g} Hz")

        model_length = round(length * self.model_rate / sample_rate)
        if as_mid_side:
            batch = mid_side(batch)
        cond = torch.from_numpy(resample(batch, sample_rate, self.model_rate, model_length))
        cond = cond.reshape(num_items * channels, 1, model_length).to(self.device)
        evaluations = 0
        if is_full_band(cutoff, target_rate, self.model_rate):
            result = cond
        else:
            band = torch.full((num_items * channels,), bandwidth, device=self.device)
            result = self._sample(
                cond, band, channels, num_inference_steps, sampler, temperature, generator, noise, level,
                channel_mode == "shared", callback, top,
            )
            evaluations = len(sampler.timesteps)
            if keep_known_band:
                result = merge_known_band(result, cond, band)

        out = result.reshape(num_items, channels, model_length).float().cpu().numpy()
        if as_mid_side:
            out = mid_side(out)
        out = resample(out, self.model_rate, target_rate, round(length * target_rate / sample_rate))
        out = out.reshape(*lead, out.shape[-1])
        return NuWaveOutput(
            audios=torch.from_numpy(out) if is_torch else out,
            sample_rate=target_rate,
            bandwidth=bandwidth,
            model_evaluations=evaluations,
        )

    def _sample(
        self, cond, band, channels, num_steps, sampler, temperature, generator, noise, level, shared_channel_noise,
        callback, top=None,
    ):
        """The reverse diffusion: `(N, 1, T)` condition -> `(N, 1, T)` sample at the input's level.

        The sample lives in the denoiser's tilted domain (`NuWaveDenoiser.whiten`) until the last step; then, for
        a model with an envelope predictor, the band above the cutoff is brought to the predicted envelope
        (`nuwave.models.envelope.shape_to_envelope`), and frames where the input is digital silence are
        silenced."""
        items, _, length = cond.shape
        noise_shape = (items // channels, 1 if shared_channel_noise else channels, length)
        if noise is None:
            noise_device = generator.device if generator is not None else torch.device("cpu")
            noise = torch.randn(noise_shape, generator=generator, device=noise_device, dtype=torch.float32)
        elif tuple(noise.shape) not in ((items // channels, 1, length), (items // channels, channels, length)):
            raise ValueError(f"noise must have shape {noise_shape}, got {tuple(noise.shape)}")
        noise = noise.expand(items // channels, channels, length).reshape(items, 1, length).to(self.device)

        # One gain per item, from the RMS of all its channels (or of the whole recording), so the channels keep
        # their relative levels: a side channel far below the mid is generated as quiet as it is.
        reference = cond.reshape(items // channels, 1, -1) if level is None else torch.full(
            (items // channels, 1, 1), float(level), device=cond.device)
        gain = level_gain(reference).repeat_interleave(channels, dim=0)
        cond = cond * gain
        sampler.set_timesteps(num_steps, device=self.device)
        sample = noise * sampler.init_noise_sigma
        dtype = self.denoiser.dtype
        mean = None
        for index, timestep in enumerate(sampler.timesteps):
            model_input = sampler.scale_model_input(sample, timestep)
            prediction = self.denoiser(model_input.to(dtype), cond.to(dtype), band, timestep).float()
            if mean is None:
                mean = predicted_sample(self.scheduler, prediction, model_input.float(), timestep)
            sample = sampler.step(prediction, timestep, sample).prev_sample
            if callback is not None:
                callback(index + 1, len(sampler.timesteps))
        if temperature < 1.0:
            sample = mean + temperature * (sample.float() - mean)
        spectrum = self.denoiser.spectrum(self.denoiser.unwhiten(sample.float()))
        if self.denoiser.envelope is not None:
            envelope = self.denoiser.predict_envelope(cond.to(dtype), band)
            spectrum = shape_to_envelope(spectrum, envelope, band)
        input_power = self.denoiser.spectrum(cond.float() / gain).abs().square().mean(dim=1, keepdim=True)
        spectrum = spectrum * (input_power >= DIGITAL_SILENCE_POWER)
        if top is not None:
            ceiling = torch.full_like(band, min(float(top) / (self.model_rate / 2), 1.0))
            spectrum = spectrum * (1.0 - generated_bins(ceiling, spectrum.shape[1]))[:, :, None]
        return self.denoiser.waveform(spectrum, length) / gain


class ModelError(Exception):
    """A model folder that cannot be loaded; `str(error)` is a one-line message naming the folder."""


def resolve_device(device: str) -> torch.device:
    """'auto' (CUDA when available), 'cpu' or 'cuda'."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(device)


# What a denoiser config may hold: (low, high) for integers, "finite" for real numbers.
CONFIG_BOUNDS = {"sample_rate": (16000, 192000), "n_fft": (16, 65536), "hop_length": (1, 65536),
                 "channels": (1, 65536), "num_blocks": (1, 1024), "expansion": (1, 64), "kernel_size": (1, 1023),
                 "embedding_dim": (2, 65536), "num_train_timesteps": (1, 100000), "envelope_bands": (0, 4096),
                 "envelope_channels": (1, 65536), "envelope_blocks": (0, 1024),
                 "tilt_db_per_octave": "finite", "tilt_corner_hz": "finite", "tilt_max_db": "finite"}


def check_denoiser_config(path: Path) -> None:
    """Refuse a denoiser config.json whose values cannot make a working model, naming the file and the values."""
    import json
    import math

    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        reason = f"unreadable denoiser config: {error}"
        raise ModelError(f"{path}: corrupt or incompatible model folder ({reason})") from None
    if not isinstance(config, dict):
        raise ModelError(f"{path}: a denoiser config must be a JSON object")
    problems = []
    for name, bounds in CONFIG_BOUNDS.items():
        if name not in config:
            continue
        value = config[name]
        if bounds == "finite":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.append(f"{name} = {value!r} is not a finite number")
        elif isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
            problems.append(f"{name} = {value!r} is not an integer from {bounds[0]} to {bounds[1]}")
    n_fft, hop = config.get("n_fft"), config.get("hop_length")
    if isinstance(n_fft, int) and isinstance(hop, int) and hop > n_fft:
        problems.append(f"hop_length = {hop} is larger than n_fft = {n_fft}")
    if problems:
        raise ModelError(f"{path}: invalid denoiser config: " + "; ".join(problems))


def load_pipeline(path, device: str = "auto") -> NuWavePipeline:
    """Load a `save_pretrained` folder onto `device`, with one-line errors for missing or corrupt folders."""
    from diffusers.utils import logging as diffusers_logging

    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: no such model folder")
    if not (path / "model_index.json").is_file():
        raise ModelError(f"{path}: not a nuwave model folder (no model_index.json)")
    check_denoiser_config(path / "denoiser" / "config.json")
    diffusers_logging.disable_progress_bar()
    try:
        pipe = NuWavePipeline.from_pretrained(str(path))
    except Exception as error:  # diffusers raises many kinds for a broken folder; all mean the same here
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{path}: corrupt or incompatible model folder ({reason[:200]})") from None
    if not isinstance(pipe, NuWavePipeline) or not isinstance(pipe.denoiser, NuWaveDenoiser):
        raise ModelError(f"{path}: not a nuwave model folder")
    return pipe.to(resolve_device(device))
