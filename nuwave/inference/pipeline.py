"""`NuWavePipeline`: low-rate waveform in, high-rate waveform out. Owns the diffusion loop and nothing about files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from nuwave import checkpoints
from nuwave.audio.dsp import (
    CODEC_MERGE_TRANSITION,
    MERGE_TRANSITION,
    RESAMPLER_TRANSITION,
    fill_codec_holes,
    input_residual,
    level_gain,
    merge_known_band,
    odd_excitation,
    resample,
    resample_sharp,
)
from nuwave.inference.options import (
    CHANNEL_MODES,
    DEFAULT_CHANNEL_MODE,
    DEFAULT_STEPS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_HEDGE_DB,
    TOP_HEDGE_HZ,
    applied_top_hedge_db,
)
from nuwave.models.denoiser import NuWaveDenoiser
from nuwave.models.envelope import (
    codec_top_level,
    continuation_ceiling,
    generated_bins,
    shape_to_envelope,
    top_hedge_gain,
    top_level,
)
from nuwave.models.readout import PhaseReadout, mix_weights, spread_to_bins
from nuwave.models.schedule import check_steps, predicted_sample

AudioArray = Union[np.ndarray, torch.Tensor]
# A cutoff this close to the lower of the output's and the model's Nyquist frequencies leaves nothing to
# generate. An input whose content stops at 19-21 kHz is *not* full band: a 128 kbit/s MP3 of a 44.1 kHz
# recording stops there, and the band above is the one its reference has and it lacks.
FULL_BAND = 0.98
# Frames of the input whose STFT power per bin is below this (about -136 dBFS for white noise, under 24-bit
# quantisation) are digital silence: nothing is generated there, as the recording had nothing there.
DIGITAL_SILENCE_POWER = 1e-14
# The sign of the missing band against the input's odd excitation: on lossless speech through zero-phase
# low-passes the reference's band correlates with minus the excitation (least squares on training segments,
# +0.11..+0.16 in the velocity over the first 1.5 octaves above the cutoff; the held-out sets agree on 83-100% of
# the speech files, `eval/results/coherence_ceiling.md`).
EXCITATION_SIGN = -1.0
# The sign of the missing band against the odd excitation of the input's linear-prediction residual
# (`nuwave.audio.dsp.linear_prediction_residual`): positive on 92-98% of 40 of the training split's lossless voices
# from 12 kHz input up (68% from 8 kHz, where `RESIDUAL_MIX` gives it no weight; `python
# scripts/coherence_ceiling.py --suite speech --suite music --train-voices 40`).
RESIDUAL_EXCITATION_SIGN = 1.0
# How the phase lock mixes its two excitations, each brought to the envelope: cos(angle) of the input's own and
# sin(angle) of its residual's, the angle in degrees by the cutoff in Hz (linear in log frequency between, held
# beyond). The angles best on the training split's lossless voices (the same command's last table): the residual
# adds nothing from 8 kHz input, and more the higher the cutoff.
RESIDUAL_MIX = ((4000.0, 0.0), (6000.0, 37.5), (8000.0, 45.0), (12000.0, 67.5))


def residual_mix(cutoff_hz) -> tuple[np.ndarray, np.ndarray]:
    """`RESIDUAL_MIX` at `cutoff_hz` (a number or an array): the weights (input's excitation, residual's)."""
    frequencies, angles = zip(*RESIDUAL_MIX)
    angle = np.radians(np.interp(np.log2(np.asarray(cutoff_hz, dtype=np.float64)), np.log2(frequencies), angles))
    return np.cos(angle), np.sin(angle)


def lock_residual(audio: np.ndarray, sample_rate: int, cutoff_hz: float, model_rate: int, length: int
                  ) -> np.ndarray | None:
    """The phase lock's second source for `audio` `(..., T)` at `sample_rate`: its linear-prediction residual
    (`input_residual`) at `model_rate`, `length` samples; None where `residual_mix` gives it no weight at
    `cutoff_hz`."""
    if residual_mix(cutoff_hz)[1] <= 0:
        return None
    return resample(input_residual(audio, sample_rate), sample_rate, model_rate, length)


def is_full_band(cutoff_hz: float, target_rate: float, model_rate: float) -> bool:
    """Whether an input whose content reaches `cutoff_hz` leaves nothing to generate at `target_rate`."""
    return cutoff_hz >= FULL_BAND * min(target_rate, model_rate) / 2


def merge_shares(codec_cut: bool) -> tuple[float, float | None]:
    """`merge_known_band`'s `transition` and `attenuated` under a codec's cutoff or a rate's: the shares of the known
    band under the cutoff that the merge may take from the generated signal."""
    return (CODEC_MERGE_TRANSITION, None) if codec_cut else (MERGE_TRANSITION, RESAMPLER_TRANSITION)


def resolve_phase_lock(phase_lock: bool | None, codec_cut: bool) -> bool:
    """`NuWavePipeline.__call__`'s `phase_lock` setting -> whether to lock: None means on for a rate's cutoff and
    off under a codec's. Measured with every suite at 8 steps (`bash scripts/eval_phase_lock.sh`): on rate inputs
    the lock lowers LSD and MR-STFT on every condition and raises speech's SNR by 0.5-2.4 dB; under a 128 kbit/s
    MP3's cut it raises speech's LSD (0.622 -> 0.639 x the decoded input's; 96 kbit/s 0.579 -> 0.592)."""
    return (not codec_cut) if phase_lock is None else bool(phase_lock)


def check_temperature(temperature: float) -> float:
    """Validate a sampling temperature (0 to 1)."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0.0 <= temperature <= 1.0:
        raise ValueError(f"the temperature must be a number from 0 to 1, got {temperature!r}")
    return float(temperature)


def mid_side(batch: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """`(B, 2, ...)` left / right <-> mid / side, numpy or torch; orthonormal, so it is its own inverse and keeps
    the power."""
    left, right = batch[:, :1], batch[:, 1:]
    join = np.concatenate if isinstance(batch, np.ndarray) else torch.cat
    return join([left + right, left - right], 1) * np.float32(np.sqrt(0.5))


def channel_levels(level: float | Sequence[float] | None, channels: int) -> np.ndarray | None:
    """`NuWavePipeline.__call__`'s `level` -> one RMS per channel `(channels,)`, or None; refuses anything else."""
    if level is None:
        return None
    levels = np.asarray(level, dtype=np.float64).reshape(-1)
    if levels.size not in (1, channels) or not (np.isfinite(levels).all() and (levels >= 0).all()):
        raise ValueError(f"level must be one RMS or one per channel ({channels}), finite and not negative; got "
                         f"{level!r}")
    return np.broadcast_to(levels, (channels,)).copy()


def paired_mid_side(items: torch.Tensor) -> torch.Tensor:
    """`(2B, ...)`, the channels of B stereo items one after the other -> the same with each pair turned by
    `mid_side` (left / right <-> mid / side)."""
    return mid_side(items.reshape(-1, 2, *items.shape[1:])).reshape(items.shape)


@dataclass
class NuWaveOutput(BaseOutput):
    """audios: the result, same type and layout as the input; sample_rate in Hz; bandwidth: the cutoff used over
    the model's Nyquist frequency; model_evaluations: how many times the denoiser ran (0 for a full-band input)."""

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
    items = -1 if array.ndim == 3 else 1
    return array.reshape(items, array.shape[-2] if array.ndim >= 2 else 1, array.shape[-1]), lead, is_torch


# `callback_on_step_end(pipe, step, timestep, callback_kwargs) -> dict`, as in diffusers' pipelines.
StepCallback = Callable[["NuWavePipeline", int, torch.Tensor, dict], dict]


class NuWavePipeline(DiffusionPipeline):
    """Bandwidth extension by conditional waveform diffusion.

    `denoiser` is a `NuWaveDenoiser`; `scheduler` is the sampler, a diffusers scheduler whose config holds the
    noise schedule the denoiser was trained with (`nuwave.models.schedule`). Another sampler is a component swap:
    `pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)`. A shipped model is found by
    name: `NuWavePipeline.from_pretrained("nuwave-base")`. `phase_readout` (optional; a `PhaseReadout`) mixes
    the phase lock's excitations from the input's spectrum (`_phase_locked`); without one the fixed mix stays.
    """

    model_cpu_offload_seq = "denoiser"
    _callback_tensor_inputs = ["sample"]
    _optional_components = ["phase_readout"]

    def __init__(self, denoiser: NuWaveDenoiser, scheduler, phase_readout: PhaseReadout | None = None) -> None:
        super().__init__()
        self.register_modules(denoiser=denoiser, scheduler=scheduler, phase_readout=phase_readout)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "NuWavePipeline":
        """diffusers' loader; a shipped model's name (`nuwave.checkpoints`) stands for its installed folder."""
        return super().from_pretrained(checkpoints.resolve(pretrained_model_name_or_path), **kwargs)

    @property
    def model_rate(self) -> int:
        return int(self.denoiser.config.sample_rate)

    @torch.no_grad()
    def __call__(
        self,
        audio: AudioArray,
        sample_rate: int,
        target_rate: int = 48000,
        num_inference_steps: int = DEFAULT_STEPS,
        temperature: float = DEFAULT_TEMPERATURE,
        cutoff: float | None = None,
        top: float | None = None,
        top_hedge_db: float = DEFAULT_TOP_HEDGE_DB,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        level: float | Sequence[float] | None = None,
        keep_known_band: bool = True,
        channel_mode: str = DEFAULT_CHANNEL_MODE,
        codec_cut: bool = False,
        top_slope: float | None = None,
        phase_lock: bool | None = None,
        return_dict: bool = True,
        callback_on_step_end: StepCallback | None = None,
        callback_on_step_end_tensor_inputs: list[str] = ("sample",),
    ) -> NuWaveOutput | tuple:
        """Upsample `audio` from `sample_rate` to `target_rate` Hz.

        Args:
            audio: `(T,)`, `(C, T)` or `(B, C, T)` float samples, numpy or torch.
            sample_rate: the input's sample rate in Hz.
            target_rate: the output's sample rate in Hz.
            num_inference_steps: sampler steps, 1 to 1000.
            temperature: 0 to 1. The result is `mean + temperature * (sample - mean)`, where `mean` is the model's
                posterior-mean estimate (its x0 prediction at the first, pure-noise step; what one step returns),
                or with `phase_lock` the input's odd excitation above the cutoff, and `sample` the sampler's
                result. 1 keeps the full sample: the generated band has the reference's level and texture but
                its own phase, which costs SNR; lower values trade generated detail for waveform fidelity. For a
                Gaussian posterior this is sampling at that temperature; in general the estimators on the
                distortion-perception frontier interpolate between the MMSE estimate and a sample of the right
                distribution (Freirich, Michaeli & Meir, NeurIPS 2021).
            cutoff: where the input's content ends, in Hz (default: its Nyquist frequency, `sample_rate / 2`).
            top: where the output's content ends, in Hz (above `cutoff`): nothing is generated above it, for
                recordings known to stop there (many end at 20 kHz). Default: not known, see `top_hedge_db`.
            top_hedge_db: with no `top`, a rate input's band above 20 kHz is generated this many dB under the
                model's estimate (a ramp over `TOP_HEDGE_HZ`), a hedge between recordings that end at 20 kHz and
                those that go on (`nuwave.inference.options.DEFAULT_TOP_HEDGE_DB`); 0: none. Not under a codec's
                cut.
            generator: seeds the initial noise; the same seed gives the same audio.
            noise: the initial noise itself, `(B, 1 or C, round(T * model_rate / sample_rate))` (overrides
                `generator`; used to make overlapping chunks of a long file start from the same noise).
            level: the RMS of the whole recording when `audio` is a chunk of it, one number or one per channel:
                every chunk is then brought to the model's working level by the same gains (default: each item's
                own RMS). A stereo pair generated as mid and side takes one gain, from both channels' RMS; other
                channels each their own.
            keep_known_band: replace the output below the cutoff by the input (the model only adds a band).
            channel_mode: how the channels of an item are generated, one of `CHANNEL_MODES` (see there).
            codec_cut: the cutoff is a lossy codec's (an MP3's, a Vorbis file's), not the end of the recording's
                content: the band the codec removed continues the input's spectrum, so the generated band stays,
                frame by frame, at or under the level of the input's top
                (`nuwave.models.envelope.continuation_ceiling`), read once the holes the encoder left there are
                filled from a first draft of the band (`_codec_top`): where the recording's own content was already
                fading out under the cut, the band goes on from where it fell to instead of starting afresh, and
                the envelope predictor shapes its fall above. The input is kept
                up to the cutoff itself (a rate's cutoff hands the top 1% under it, where even the known band's
                sharp resampler attenuates the input, over to the generated band;
                `nuwave.audio.dsp.CODEC_MERGE_TRANSITION`), but for the spectral holes the encoder left in its top,
                which are filled from the generated signal at the input's level around them
                (`nuwave.audio.dsp.fill_codec_holes`).
            top_slope: with `codec_cut`, a known fall of the band above the cut in dB per kHz from the input's
                top (at most 0; default: none, the band held under the top's level). The slope of the input's own
                top (`nuwave.audio.cutoff.top_slope`) is no default: extrapolated over the band, it held music far
                under its reference (`python scripts/codec_top.py`).
            phase_lock: the band's deterministic part (`temperature`'s `mean`) is, above the cutoff, the input's odd
                excitation (`nuwave.audio.dsp.odd_excitation`: the input cubed over its local power) brought to the
                predicted envelope, with `EXCITATION_SIGN`, mixed from a 6 kHz cutoff up with the same excitation
                of the input's linear-prediction residual (`residual_mix`; for a model folder with a phase readout,
                `nuwave.models.readout`, within the cutoffs it was found to help at, by the weights it reads per
                band and frame from the input's spectrum), instead of the model's own estimate: a
                band whose phase follows the input's pitch pulses, where the model's estimate has none (on
                held-out speech the input's excitation correlates 0.10-0.29 with the reference's band, the model's
                0.00; on music about 0 either way: `eval/results/coherence_ceiling.md`). The sample
                (`temperature`) keeps its share. Default (None): on for a rate's cutoff, off under a codec's
                (`codec_cut`), where the encoder has already turned the phase of the input's top and the lock
                measured worse on speech (`resolve_phase_lock`).
            return_dict: return a `NuWaveOutput` (else the tuple `(audios,)`).
            callback_on_step_end: called after each sampler step as `callback(pipe, step, timestep,
                callback_kwargs)`, where `callback_kwargs` holds the tensors named in
                `callback_on_step_end_tensor_inputs` (`"sample"`: the current sample, `(B * C, 1, T_model)`, in the
                denoiser's tilted domain); the dict it returns may replace them.
        Returns:
            `NuWaveOutput` whose audio has the input's layout and `round(T * target_rate / sample_rate)` samples.
        """
        check_steps(num_inference_steps)
        check_temperature(temperature)
        if channel_mode not in CHANNEL_MODES:
            raise ValueError(f"unknown channel mode {channel_mode!r}; choose one of {', '.join(CHANNEL_MODES)}")
        unknown = set(callback_on_step_end_tensor_inputs) - set(self._callback_tensor_inputs)
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs: {sorted(unknown)} are not among "
                             f"{self._callback_tensor_inputs}")
        batch, lead, is_torch = _as_batch(audio)
        num_items, channels, length = batch.shape
        as_mid_side = channel_mode == "mid-side" and channels == 2
        if sample_rate <= 0 or target_rate <= 0:
            raise ValueError("sample rates must be positive")
        if length == 0:
            raise ValueError("audio is empty")
        if not np.isfinite(batch).all():
            raise ValueError("audio contains NaN or infinite samples")
        levels = channel_levels(level, channels)
        nyquist = sample_rate / 2
        cutoff = nyquist if cutoff is None else float(cutoff)
        if not 0 < cutoff <= nyquist:
            raise ValueError(f"cutoff {cutoff:g} Hz must be above 0 and at most the input's Nyquist {nyquist:g} Hz")
        bandwidth = min(cutoff / (self.model_rate / 2), 1.0)
        if top is not None and not cutoff < float(top):
            raise ValueError(f"top {float(top):g} Hz must be above the cutoff {cutoff:g} Hz")
        if not 0.0 <= float(top_hedge_db) < float("inf"):
            raise ValueError(f"top_hedge_db {float(top_hedge_db):g} must be a finite number of dB, at least 0")
        hedge_db = applied_top_hedge_db(top_hedge_db, top, codec_cut)

        model_length = round(length * self.model_rate / sample_rate)
        lock = resolve_phase_lock(phase_lock, codec_cut)
        channels_in_order = batch  # left / right, for each channel's own excitation
        if as_mid_side:
            batch = mid_side(batch)
        evaluations = 0

        def at_model_rate(resampler) -> torch.Tensor:  # `batch` -> `(N * C, 1, model_length)` on the device
            audio = torch.from_numpy(resampler(batch, sample_rate, self.model_rate, model_length))
            return audio.reshape(num_items * channels, 1, model_length).to(self.device)

        if is_full_band(cutoff, target_rate, self.model_rate):  # resampled only, its top kept (`resample_sharp`)
            result = at_model_rate(resample_sharp)
        else:
            cond = at_model_rate(resample)  # as in training
            band = torch.full((num_items * channels,), bandwidth, device=self.device)
            noise = self._initial_noise(noise, generator, num_items, 1 if channel_mode == "shared" else channels,
                                        channels, model_length)
            # the input's linear-prediction residual at the model's rate, its channels in their own order
            residual = lock_residual(channels_in_order, sample_rate, cutoff, self.model_rate, model_length) \
                if lock else None
            if residual is not None:
                residual = torch.from_numpy(residual).reshape(num_items * channels, 1, model_length).to(self.device)
            # The known band from a sharper resampling than the condition's (`resample_sharp`).
            known = at_model_rate(resample_sharp) if keep_known_band else None
            result = self._sample(cond, band, channels, noise, num_inference_steps, temperature, levels, top,
                                  codec_cut, top_slope, as_mid_side, callback_on_step_end,
                                  callback_on_step_end_tensor_inputs, lock, residual, known, hedge_db)
            evaluations = len(self.scheduler.timesteps)
            if known is not None:
                if codec_cut:  # the holes the encoder left under its cutoff, from the generated signal
                    known = fill_codec_holes(known, result, band, self.model_rate)
                result = merge_known_band(result, known, band, *merge_shares(codec_cut))

        out = result.reshape(num_items, channels, model_length).float().cpu().numpy()
        if as_mid_side:
            out = mid_side(out)
        # To the output's rate with the sharper filter: soxr's loses the top 7% of the lower Nyquist frequency,
        # which at 44.1 kHz is the generated band's 20.5-22.05 kHz.
        out = resample_sharp(out, self.model_rate, target_rate, round(length * target_rate / sample_rate))
        out = out.reshape(*lead, out.shape[-1])
        audios = torch.from_numpy(out) if is_torch else out
        if not return_dict:
            return (audios,)
        return NuWaveOutput(audios=audios, sample_rate=target_rate, bandwidth=bandwidth, model_evaluations=evaluations)

    def _initial_noise(self, noise, generator, items: int, noise_channels: int, channels: int, length: int
                       ) -> torch.Tensor:
        """The initial noise `(items * channels, 1, length)`: the given one, or drawn from `generator` (one per
        item and channel, or one per item shared by its channels)."""
        shape = (items, noise_channels, length)
        if noise is None:
            noise_device = generator.device if generator is not None else torch.device("cpu")
            noise = torch.randn(shape, generator=generator, device=noise_device, dtype=torch.float32)
        elif tuple(noise.shape) not in ((items, 1, length), (items, channels, length)):
            raise ValueError(f"noise must have shape {shape}, got {tuple(noise.shape)}")
        return noise.expand(items, channels, length).reshape(items * channels, 1, length).to(self.device)

    def _sample(self, cond, band, channels, noise, num_inference_steps, temperature, levels, top, codec_cut,
                top_slope, as_mid_side, callback, callback_inputs, phase_lock=False, residual=None, known=None,
                hedge_db=0.0):
        """The reverse diffusion: `(N, 1, T)` condition -> `(N, 1, T)` sample at the input's level. `levels`:
        `channel_levels` (None: each item's own). `known`: the decoded input `(N, 1, T)` (same channels and level as
        `cond`) under a codec's cut, whose top the band is held under once its holes are filled (`_codec_top`).
        `hedge_db`: how far under its fitted level the band above 20 kHz is left (`top_hedge_db`).

        The sample lives in the denoiser's tilted domain (`NuWaveDenoiser.whiten`) until the last step; then the
        band above the cutoff is fitted to the input (`_fit_band`). For a stereo pair generated as mid and side
        (`as_mid_side`), the fit runs twice: on mid and side, which sets how alike the two channels' bands are,
        then on left and right, which gives each output channel the level its own input asks for (a channel that
        pauses while the other plays stays quiet; mid / side alone would give both channels the same band
        power)."""
        items, _, length = cond.shape
        if as_mid_side:
            # One gain per pair, from the RMS of both channels (or of the whole recording's), so that mid and side
            # keep their relative levels: a side far under the mid is generated as quiet as it is.
            reference = cond.reshape(items // channels, 1, -1) if levels is None else torch.full(
                (items // channels, 1, 1), float(np.sqrt(np.mean(np.square(levels)))), device=cond.device)
            gain = level_gain(reference).repeat_interleave(channels, dim=0)
        else:
            # Every channel its own gain: each is generated as the mono recording it is, at the working level. With
            # one gain, a channel far under another lay as far under that level, where the model's errors are
            # the louder channel's size, and its known band took them through the merge.
            reference = cond if levels is None else torch.from_numpy(
                np.tile(levels, items // channels).astype(np.float32)).reshape(-1, 1, 1).to(cond.device)
            gain = level_gain(reference)
        cond = cond * gain
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        sample = noise * self.scheduler.init_noise_sigma
        dtype = self.denoiser.dtype
        encoded = self.denoiser.encode_condition(cond.to(dtype))  # the same at every step
        mean = None
        with self.progress_bar(total=len(self.scheduler.timesteps)) as bar:
            for index, timestep in enumerate(self.scheduler.timesteps):
                model_input = self.scheduler.scale_model_input(sample, timestep)
                prediction = self.denoiser(model_input.to(dtype), cond.to(dtype), band, timestep, encoded).float()
                if mean is None:
                    mean = predicted_sample(self.scheduler, prediction, model_input.float(), timestep)
                sample = self.scheduler.step(prediction, timestep, sample).prev_sample
                if callback is not None:
                    values = {"sample": sample}
                    returned = callback(self, index, timestep, {name: values[name] for name in callback_inputs})
                    sample = (returned or {}).get("sample", sample)
                bar.update()
        predicted = self._predicted_envelope(cond, band, codec_cut)
        if temperature < 1.0:
            if phase_lock:
                mean = self._phase_locked(mean, cond, band, predicted[2], predicted[0], as_mid_side,
                                          None if residual is None else residual * gain)
            sample = mean + temperature * (sample.float() - mean)
        spectrum = self.denoiser.spectrum(self.denoiser.unwhiten(sample.float()))
        top_source = None
        if codec_cut and known is not None and predicted[2] is not None:
            draft = self._fit_both(spectrum, cond, gain, band, codec_cut, top_slope, as_mid_side, predicted)
            top_source = self._codec_top(draft, known, gain, band, length)
        spectrum = self._fit_both(spectrum, cond, gain, band, codec_cut, top_slope, as_mid_side, predicted,
                                  top_source)
        if top is not None:
            top_fraction = torch.full_like(band, min(float(top) / (self.model_rate / 2), 1.0))
            spectrum = spectrum * (1.0 - generated_bins(top_fraction, spectrum.shape[1]))[:, :, None]
        elif hedge_db > 0:
            spectrum = spectrum * top_hedge_gain(band, spectrum.shape[1], self.model_rate, hedge_db,
                                                 TOP_HEDGE_HZ)[:, :, None]
        return self.denoiser.waveform(spectrum, length) / gain

    def _fit_both(self, spectrum, cond, gain, band, codec_cut, top_slope, as_mid_side, predicted, top_source=None
                  ) -> torch.Tensor:
        """`_fit_band` of the generated spectrum, and for stereo pairs generated as mid and side (`as_mid_side`)
        then again on left and right: each channel's band at its own level. Mid and side both carry the louder
        channel, so the top of each channel's known band that the merge may take from the generated signal follows
        its band above the cutoff to that level too: otherwise a quiet channel takes errors there at the louder
        one's. `top_source`: see `_fit_band` (in the channels of `cond`)."""
        spectrum = self._fit_band(spectrum, cond, gain, band, codec_cut, top_slope, predicted, top_source=top_source)
        if as_mid_side:
            handover = max(share or 0.0 for share in merge_shares(codec_cut))
            spectrum = paired_mid_side(self._fit_band(
                paired_mid_side(spectrum), paired_mid_side(cond), gain, band, codec_cut, top_slope, handover=handover,
                top_source=None if top_source is None else paired_mid_side(top_source)))
        return spectrum

    def _codec_top(self, draft: torch.Tensor, known: torch.Tensor, gain: torch.Tensor, band: torch.Tensor,
                   length: int) -> torch.Tensor:
        """The level-normalised decoded input `(N, 1, T)` with its spectral holes filled from a first draft of the
        band (`draft`, the generated spectrum fitted under the holed input's top): the signal whose top the band
        above a codec's cut is then held under. An encoder short of bits zeroes whole scale-factor bands of its top,
        the more the nearer its cut, so the holed input reads its top too low, by 4-8 dB at 64 kbit/s stereo."""
        draft = self.denoiser.waveform(draft, length) / gain
        return fill_codec_holes(known, draft, band, self.model_rate) * gain

    def phase_lock_excitations(self, cond: torch.Tensor, band: torch.Tensor, envelope: torch.Tensor | None,
                               as_mid_side: bool = False, residual: torch.Tensor | None = None
                               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The phase lock's two excitations, spectra `(N, bins, frames)` above the cutoff (not tilted), each
        brought to the predicted `envelope` when the model has one: the odd excitation of the level-normalised
        condition `cond` `(N, 1, T)` with `EXCITATION_SIGN`, and, given the input's linear-prediction `residual`
        `(N, 1, T)` (same level, left / right), the odd excitation of that with `RESIDUAL_EXCITATION_SIGN` (else
        None). For stereo pairs generated as mid and side (`as_mid_side`) each channel's excitations come from that
        channel alone and are then turned into mid and side: the cube of the mid of two unrelated channels would
        hold their cross products (intermodulation) instead of either one's."""
        denoiser = self.denoiser
        window = denoiser.config.n_fft // 2
        above = generated_bins(band, denoiser.config.n_fft // 2 + 1)[:, :, None]

        def excitation_of(source: torch.Tensor) -> torch.Tensor:  # (N, 1, T) in channel order -> (N, bins, frames)
            excitation = odd_excitation(source[:, 0].float(), window)[:, None]
            excitation = denoiser.spectrum(paired_mid_side(excitation) if as_mid_side else excitation) * above
            return excitation if envelope is None else shape_to_envelope(excitation, envelope, band)

        excitation = EXCITATION_SIGN * excitation_of(paired_mid_side(cond) if as_mid_side else cond)
        second = None if residual is None else RESIDUAL_EXCITATION_SIGN * excitation_of(residual)
        return excitation, second

    def _phase_locked(self, mean: torch.Tensor, cond: torch.Tensor, band: torch.Tensor,
                      envelope: torch.Tensor | None, cond_power: torch.Tensor, as_mid_side: bool = False,
                      residual: torch.Tensor | None = None) -> torch.Tensor:
        """`mean` `(N, 1, T)` (tilted domain) with its band above the cutoff replaced by the input's excitations
        (`phase_lock_excitations`, see `__call__`'s `phase_lock`), mixed by `residual_mix` at the cutoff or, for
        a model with a phase readout (`nuwave.models.readout`), by the weights it reads per band and frame from
        the condition's STFT power `cond_power` `(N, bins, frames)`, and brought to the predicted `envelope`."""
        denoiser = self.denoiser
        length = mean.shape[-1]
        bins = denoiser.config.n_fft // 2 + 1
        above = generated_bins(band, bins)[:, :, None]
        excitation, second = self.phase_lock_excitations(cond, band, envelope, as_mid_side, residual)
        if second is not None:
            fixed = tuple(torch.tensor(w, dtype=torch.float32, device=band.device)
                          for w in residual_mix((band * self.model_rate / 2).cpu().numpy()))
            if envelope is None:  # at the first's power over the band, item by item, mixed at the fixed angle
                power = lambda x: x.abs().square().sum(dim=(1, 2), keepdim=True).clamp_min(1e-30)
                second = second * (power(excitation) / power(second)).sqrt()
                excitation = fixed[0][:, None, None] * excitation + fixed[1][:, None, None] * second
            else:
                own, other = mix_weights(self.phase_readout, cond_power, band, fixed, envelope.shape[1])
                excitation = spread_to_bins(own, bins) * excitation + spread_to_bins(other, bins) * second
                excitation = shape_to_envelope(excitation, envelope, band)
        tilted = denoiser.spectrum(denoiser.whiten(denoiser.waveform(excitation * above, length)))
        spectrum = denoiser.spectrum(mean)
        return denoiser.waveform(spectrum * (1.0 - above) + tilted * above, length)

    def _predicted_envelope(self, cond, band, codec_cut) -> tuple[torch.Tensor, torch.Tensor | None,
                                                                   torch.Tensor | None]:
        """From the level-normalised condition `(N, 1, T)`: its STFT power, the power of its top (`top_level`,
        where the envelope's anchor or a codec's ceiling uses it; under a codec's cut read through the encoder's
        granule holes, `codec_top_level`) and the predicted envelope of the missing band
        (None for both without an envelope predictor), computed once per sampling for `_phase_locked` and
        `_fit_band`."""
        cond_power = self.denoiser.spectrum(cond.float()).abs().square()
        if self.denoiser.envelope is None:
            return cond_power, None, None
        level = top_level(cond_power, band, self.model_rate) if codec_cut or self.denoiser.envelope.uses_top \
            else None
        if codec_cut:
            level = codec_top_level(level, self.denoiser.config.hop_length)
        return cond_power, level, self.denoiser.predict_envelope(cond.to(self.denoiser.dtype), band, cond_power,
                                                                 level)

    def _fit_band(self, spectrum, cond, gain, band, codec_cut, top_slope, predicted=None, handover: float = 0.0,
                  top_source: torch.Tensor | None = None) -> torch.Tensor:
        """The generated spectrum `(N, bins, frames)` fitted to its level-normalised condition `(N, 1, T)` (`gain`
        `(N, 1, 1)` undoes the normalisation): for a model with an envelope predictor, the band above the cutoff
        brought to the predicted envelope (`nuwave.models.envelope.shape_to_envelope`; under a codec's cut no
        higher than the continuation of the top of `top_source` (default: the condition itself; level-normalised,
        `(N, 1, T)`), level or, with `top_slope`, falling at so many dB per kHz), and frames where the input is
        digital silence silenced. `predicted`: `_predicted_envelope` of this `cond`, when the caller has it;
        `handover`: the top fraction of the known band brought along with the band above the cutoff
        (`shape_to_envelope`)."""
        cond_power, level, envelope = predicted or self._predicted_envelope(cond, band, codec_cut)
        if envelope is not None:
            if codec_cut:
                top_power = cond_power
                if top_source is not None:
                    top_power = self.denoiser.spectrum(top_source.float()).abs().square()
                    level = codec_top_level(top_level(top_power, band, self.model_rate),
                                            self.denoiser.config.hop_length)
                slopes = torch.full_like(band, 0.0 if top_slope is None else float(top_slope))
                ceiling = continuation_ceiling(top_power, band, envelope.shape[1], self.model_rate, slopes, level)
                envelope = torch.minimum(envelope, ceiling)
            spectrum = shape_to_envelope(spectrum, envelope, band, handover=handover)
        input_power = cond_power.mean(dim=1, keepdim=True) / gain.square()  # at the input's own level
        return spectrum * (input_power >= DIGITAL_SILENCE_POWER)
