"""The noise schedule and the samplers: one diffusers scheduler config is the single source of truth.

Training adds noise with `DDIMScheduler.add_noise` / `get_velocity` of the config saved with the checkpoint,
and sampling builds any of the supported schedulers from that same config, so the two can never disagree.

Prediction target: **v** (`v = alpha_t * eps - sigma_t * x0`, Salimans & Ho 2022). With one to eight steps the
first steps are taken at almost pure noise, where an epsilon-predicting model must divide by `alpha_t ~ 0` to
recover the signal (its errors are amplified without bound) and a sample-predicting model gets no usable
gradient at low noise. v stays well scaled at every noise level, so few-step samples are as good as the
model allows. The cosine schedule ends at (almost) zero SNR, and "trailing" timestep spacing makes even a
single step start from the last, pure-noise timestep, which is what the model was trained for.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin

MAX_STEPS = 1000

# name -> (scheduler class, config overrides). All are deterministic given the initial noise.
SCHEDULERS: dict[str, tuple[type[SchedulerMixin], dict[str, Any]]] = {
    "ddim": (DDIMScheduler, {"clip_sample": False, "set_alpha_to_one": True}),
    "dpmsolver++": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "unipc": (UniPCMultistepScheduler, {"solver_order": 2}),
    "euler": (EulerDiscreteScheduler, {}),
    "heun": (HeunDiscreteScheduler, {}),
}
DEFAULT_SCHEDULER = "dpmsolver++"
# How far the output goes from the model's posterior mean towards its full sample (`NuWavePipeline.__call__`).
DEFAULT_TEMPERATURE = 0.15


def default_noise_schedule() -> DDIMScheduler:
    """The schedule new models are trained with: cosine betas, v-prediction, trailing spacing."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="v_prediction",
        timestep_spacing="trailing",
        clip_sample=False,
        set_alpha_to_one=True,
    )


def make_sampler(name: str, noise_schedule: SchedulerMixin) -> SchedulerMixin:
    """A fresh scheduler of the named kind that shares the noise schedule's config (betas, target, spacing)."""
    key = name.lower()
    if key not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
    scheduler_class, overrides = SCHEDULERS[key]
    shared = {k: v for k, v in noise_schedule.config.items() if not k.startswith("_")}
    return scheduler_class.from_config({**shared, **overrides})


def check_steps(num_steps: int) -> int:
    """Validate a sampling step count (1 to 1000)."""
    if not isinstance(num_steps, int) or not 1 <= num_steps <= MAX_STEPS:
        raise ValueError(f"the number of steps must be an integer from 1 to {MAX_STEPS}, got {num_steps!r}")
    return num_steps


def predicted_sample(
    noise_schedule: SchedulerMixin, model_output: torch.Tensor, noisy: torch.Tensor, timestep
) -> torch.Tensor:
    """The denoiser's estimate of the clean sample x0 from its output at `timestep` (any of the three targets).

    `noisy` is the variance-preserving model input `alpha_t * x0 + sigma_t * eps` (what `scale_model_input`
    returns, for every scheduler here). At the first, pure-noise timestep the noise says nothing about x0, so
    this estimate is the model's posterior mean E[x0 | condition]."""
    alphas = noise_schedule.alphas_cumprod.to(noisy.device)
    alpha_bar = alphas[round(float(timestep))].to(noisy.dtype)
    alpha, sigma = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    kind = noise_schedule.config.prediction_type
    if kind == "v_prediction":
        return alpha * noisy - sigma * model_output
    if kind == "epsilon":
        return (noisy - sigma * model_output) / alpha
    if kind == "sample":
        return model_output
    raise ValueError(f"unknown prediction type {kind!r}")


def check_temperature(temperature: float) -> float:
    """Validate a sampling temperature (0 to 1)."""
    if not isinstance(temperature, (int, float)) or not 0.0 <= float(temperature) <= 1.0:
        raise ValueError(f"the temperature must be a number from 0 to 1, got {temperature!r}")
    return float(temperature)
