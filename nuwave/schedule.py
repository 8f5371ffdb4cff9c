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
