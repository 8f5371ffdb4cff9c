"""What the commands share: the error line, number options that refuse NaN, and the model options with the one
way a command loads a model."""

from __future__ import annotations

import sys

import click

from nuwave.inference.options import (
    DEFAULT_DTYPE,
    DEFAULT_MODEL,
    DEFAULT_SAMPLER,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_HEDGE_DB,
    DTYPES,
    SAMPLERS,
)

TEMPERATURE_HELP = ("0 to 1: how far the band goes from its deterministic part (the input's excitation under the "
                    "phase lock, else the model's mean estimate: best SNR) towards the full sample (its own phase).")
TOP_HEDGE_HELP = ("With no --top: how many dB under the model's estimate a rate input's band above 20 kHz is "
                  "generated, a hedge between recordings that end at 20 kHz and those that go on (0: none; never "
                  "under a codec's cut).")
PHASE_LOCK_HELP = ("The band's deterministic part from the input's odd excitations (its cube over its local power "
                   "and, from a 6 kHz cutoff, its linear-prediction residual's; mixed per band and frame by the "
                   "model's phase readout where it has one), whose phase follows the input's pitch pulses, "
                   "instead of the model's own estimate: on speech a band closer to the reference's waveform "
                   "(higher SNR). Default: on, except under a codec's cut.")


def fail(message: str) -> None:
    """Print `nuwave: error: MESSAGE` on stderr."""
    # A file name that is not UTF-8 arrives with surrogate escapes, which a terminal cannot print: show its bytes.
    message = message.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    click.echo(f"nuwave: error: {message}", err=True)


class FiniteRange(click.FloatRange):
    """A float range that also refuses NaN (which compares false with every bound, so plain ranges let it in)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def temperature_option(function):
    """`--temperature`, as every command that upsamples takes it."""
    return click.option("--temperature", default=DEFAULT_TEMPERATURE, show_default=True, type=FiniteRange(0.0, 1.0),
                        help=TEMPERATURE_HELP)(function)


def phase_lock_option(function):
    """`--phase-lock / --no-phase-lock` (default None: the pipeline decides), as every command that upsamples takes
    it."""
    return click.option("--phase-lock/--no-phase-lock", default=None, help=PHASE_LOCK_HELP)(function)


def top_hedge_option(function):
    """`--top-hedge-db`, as every command that upsamples takes it."""
    return click.option("--top-hedge-db", default=DEFAULT_TOP_HEDGE_DB, show_default=True,
                        type=FiniteRange(0.0, 60.0), help=TOP_HEDGE_HELP)(function)


def model_options(function):
    """`--model`, `--sampler`, `--device` and `--dtype`, as every command that runs a model takes them."""
    options = [
        click.option("--model", default=DEFAULT_MODEL, show_default=True,
                     help="A shipped model's name, or a save_pretrained model folder."),
        click.option("--sampler", default=DEFAULT_SAMPLER, show_default=True,
                     type=click.Choice(tuple(SAMPLERS)), help="The sampler (a diffusers scheduler)."),
        click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"])),
        click.option("--dtype", default=DEFAULT_DTYPE, show_default=True, type=click.Choice(DTYPES),
                     help="Precision of the denoiser (bfloat16 / float16 pay off on GPUs; float16 needs one)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def load_model(model: str, sampler: str, device: str, dtype: str):
    """The pipeline of `model` on `device` in `dtype`, sampling with the named sampler, its per-step progress bar
    off (the commands show their own); a one-line error and exit 1 when it cannot be loaded."""
    from nuwave.inference.loading import ModelError, load_pipeline
    from nuwave.models.schedule import make_sampler

    try:
        pipe = load_pipeline(model, device, dtype)
    except ModelError as error:
        fail(str(error))
        sys.exit(1)
    pipe.scheduler = make_sampler(sampler, pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe
