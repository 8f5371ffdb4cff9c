"""The noise schedule and the samplers: one diffusers scheduler config is the single source of truth.

A model folder stores one scheduler, its sampler (`scheduler/scheduler_config.json`), whose config also holds
the noise schedule the denoiser was trained with (`NOISE_SCHEDULE_KEYS`). Training noises with that schedule's
`alphas_cumprod` (`nuwave.training.loss`), sampling runs the stored scheduler, and any other sampler is built
from the same config (`make_sampler`, the names of the command line; or diffusers' own
`OtherScheduler.from_config(pipe.scheduler.config)`), so training and sampling can never disagree.

Prediction target: **v** (`v = alpha_t * eps - sigma_t * x0`, Salimans & Ho 2022). With one to eight steps the
first steps are taken at almost pure noise, where an epsilon-predicting model must divide by `alpha_t ~ 0` to
recover the signal (its errors are amplified without bound) and a sample-predicting model gets no usable
gradient at low noise. v stays well scaled at every noise level, so few-step samples are as good as the
model allows. The cosine schedule ends at (almost) zero SNR, and "trailing" timestep spacing makes even a
single step start from the last, pure-noise timestep, which is what the model was trained for.

diffusers is imported on first use, so the names here are instant to read (`nuwave --help`).
"""

from __future__ import annotations

from typing import Any

MAX_STEPS = 1000

# name -> (diffusers scheduler class, config overrides). All are deterministic given the initial noise.
SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "ddim": ("DDIMScheduler", {}),
    "dpmsolver++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "unipc": ("UniPCMultistepScheduler", {"solver_order": 2}),
    "euler": ("EulerDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
}
DEFAULT_SAMPLER = "dpmsolver++"
# Carried by every sampler's config, so that a DDIM scheduler built from any of them (diffusers' `from_config`)
# neither clips its x0 estimates to [-1, 1] (the diffusion domain's peaks go beyond) nor ends short of alpha = 1.
NO_CLIPPING = {"clip_sample": False, "set_alpha_to_one": True}
# The part of a scheduler config that is the noise schedule (what a model was trained with); every sampler shares
# it, the rest of a config is the sampler's own.
NOISE_SCHEDULE_KEYS = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas",
                       "prediction_type", "timestep_spacing", "steps_offset", "rescale_betas_zero_snr")
# The schedule new models are trained with: cosine betas, v-prediction, trailing spacing.
NEW_MODEL_SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02,
                      "beta_schedule": "squaredcos_cap_v2", "trained_betas": None, "prediction_type": "v_prediction",
                      "timestep_spacing": "trailing", "steps_offset": 0, "rescale_betas_zero_snr": False}


def make_sampler(name: str = DEFAULT_SAMPLER, config: dict | None = None):
    """A fresh scheduler of the named kind (one of `SAMPLERS`) on the noise schedule of `config` (a scheduler's
    config; default: the schedule new models are trained with). `make_sampler()` is what a new model ships with."""
    import diffusers

    key = name.lower()
    if key not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
    class_name, overrides = SAMPLERS[key]
    config = NEW_MODEL_SCHEDULE if config is None else config
    schedule = {k: config[k] for k in NOISE_SCHEDULE_KEYS if k in config}
    return getattr(diffusers, class_name).from_config({**schedule, **NO_CLIPPING, **overrides})


def check_steps(num_inference_steps: int) -> int:
    """Validate a sampling step count (1 to 1000)."""
    count = num_inference_steps
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_STEPS:
        raise ValueError(f"the number of steps must be an integer from 1 to {MAX_STEPS}, got {count!r}")
    return count


def predicted_sample(scheduler, model_output, noisy, timestep):
    """The denoiser's estimate of the clean sample x0 from its output at `timestep` (any of the three targets).

    `noisy` is the variance-preserving model input `alpha_t * x0 + sigma_t * eps` (what `scale_model_input`
    returns, for every scheduler here). At the first, pure-noise timestep the noise says nothing about x0, so
    this estimate is the model's posterior mean E[x0 | condition]."""
    alphas = scheduler.alphas_cumprod.to(noisy.device)
    alpha_bar = alphas[round(float(timestep))].to(noisy.dtype)
    alpha, sigma = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    kind = scheduler.config.prediction_type
    if kind == "v_prediction":
        return alpha * noisy - sigma * model_output
    if kind == "epsilon":
        return (noisy - sigma * model_output) / alpha
    if kind == "sample":
        return model_output
    raise ValueError(f"unknown prediction type {kind!r}")
