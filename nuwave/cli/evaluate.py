"""`nuwave eval`: run a benchmark suite, baselines and the model at each step count, and write its reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nuwave.cli.common import (
    fail,
    load_model,
    model_options,
    phase_lock_option,
    temperature_option,
    top_hedge_option,
)
from nuwave.models.schedule import MAX_STEPS


def _parse_steps(context, parameter, value: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(item) for item in value.split(",") if item.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of integers, e.g. 1,2,4,8") from None
    if not steps or not all(1 <= item <= MAX_STEPS for item in steps):
        raise click.BadParameter(f"step counts must be from 1 to {MAX_STEPS}")
    return steps


# How a report names the `--phase-lock` setting.
PHASE_LOCK_NAMES = {None: "phase lock on rate inputs (not under a codec's cut)", True: "phase lock everywhere",
                    False: "no phase lock"}


@click.command(name="eval")
@click.option("--suite", "suite_name", required=True,
              help="The name of a shipped suite (speech, music, speech-pauses, stereo, speech-16k, speech-44k) or a "
              "suite JSON file.")
@click.option("--data", type=click.Path(path_type=Path), default=Path("data"), show_default=True,
              help="The folder a suite's manifest is read from (where scripts/prepare_data.py built the corpus).")
@click.option("--baselines-only", is_flag=True, help="Evaluate the input and sinc baselines only, no model.")
@click.option("--steps", default="1,2,4,8,16,32", show_default=True, callback=_parse_steps,
              help="Step counts to evaluate, comma-separated.")
@temperature_option
@phase_lock_option
@click.option("--fixed-mix", is_flag=True,
              help="Lock with the phase lock's fixed mix of its two excitations, leaving out the model's phase "
              "readout: what the readout adds.")
@top_hedge_option
@click.option("--runs", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Repeat the model with seeds 0..N-1 and report mean ± std.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder (default: eval/results/<suite name>).")
@model_options
@click.option("-q", "--quiet", is_flag=True)
def evaluate_command(suite_name, data, baselines_only, steps, temperature, phase_lock, fixed_mix, top_hedge_db, runs,
                     out, model, sampler, device, dtype, quiet) -> None:
    """Run the benchmark SUITE: baselines and the model at each step count; write reports."""
    from nuwave.benchmark.evaluate import Suite, evaluate, suite_file
    from nuwave.benchmark.report import environment, write_report
    from nuwave.inference.loading import ModelError, resolve_device

    path = suite_file(suite_name)
    try:
        suite = Suite.load(path, data)
    except (OSError, ValueError, KeyError) as error:
        fail(f"{path}: not a usable suite ({error})")
        sys.exit(1)
    try:
        torch_device = str(resolve_device(device))
    except ModelError as error:
        fail(str(error))
        sys.exit(1)
    pipe = None if baselines_only else load_model(model, sampler, device, dtype)
    if pipe is not None and fixed_mix:
        pipe.phase_readout = None
    figure_steps = 8 if 8 in steps else max(steps)
    kept = {}

    def keep(condition, system, count, audio):
        if system != "nuwave" or count == figure_steps:
            kept[(condition, system)] = audio

    say = None if quiet else (lambda text: click.echo(f"{suite.name}: {text}", err=True))
    try:
        records = evaluate(suite, pipe, steps, runs, torch_device, keep, say, temperature, phase_lock,
                           top_hedge_db=top_hedge_db)
    except Exception as error:  # an unreadable reference: name it and stop
        fail(str(error))
        sys.exit(1)
    command = "nuwave eval " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["eval"] else "nuwave eval"
    paths = write_report(out or Path("eval/results") / suite.name, suite, records, kept, environment(torch_device),
                         command, f"{sampler}, temperature {temperature:g}, " + PHASE_LOCK_NAMES[phase_lock]
                         + (", the phase lock's fixed mix (no phase readout)" if fixed_mix else "")
                         + f", band above 20 kHz {top_hedge_db:g} dB under the model's estimate (rate inputs)",
                         None if pipe is None else model)
    if not quiet:
        click.echo("wrote " + ", ".join(str(p) for p in paths), err=True)
        if not any(path.suffix == ".png" for path in paths):
            click.echo("figures skipped: they need matplotlib (pip install 'nuwave[eval]')", err=True)
