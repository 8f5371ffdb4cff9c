"""`accelerate launch -m nuwave.cli.train --config CONFIG [--option value ...]`: train or fine-tune a model.

Also `nuwave train ...` for a single process. Options given on the command line override `--adapt`'s settings
(`nuwave.training.config.ADAPTATION`), and both the config file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from nuwave.training.config import ADAPTATION, TrainConfig, click_options


def make_config(config_path: Path | None, options: dict, adapt: str | None = None) -> TrainConfig:
    """The run's config: `options` given on the command line (None: not given), over `ADAPTATION` and
    `init_from=adapt` when adapting a model, over the config file's values."""
    given = {k: v for k, v in options.items() if v is not None and v != ()}
    if "data" in given:
        given["data"] = list(given["data"])
    if adapt is not None:
        if given.get("init_from", adapt) != adapt:
            raise ValueError(f"--adapt {adapt} and --init-from {given['init_from']} name two models; give one")
        given = {**ADAPTATION, "init_from": adapt, **given}
    return TrainConfig.load(config_path, **given) if config_path else TrainConfig(**given)


@click.command(name="train")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON training config (as saved in every run folder).")
@click.option("--resume", is_flag=True, help="Continue from the newest saved state in the run folder.")
@click.option("--stop-at", type=click.IntRange(1), default=None,
              help="Save the state and stop at this step (continue later with --resume).")
@click.option("--adapt", metavar="MODEL", default=None,
              help="Fit MODEL (a shipped model's name or a model folder) to one voice or instrument from a little of "
                   "its own wideband audio (--data): only its band level learns, 150 short steps, minutes on a CPU; "
                   "options given override these settings. Then: nuwave upsample --model RUN_DIR/export ...")
@click_options
def train_command(config_path: Path | None, resume: bool, stop_at: int | None, adapt: str | None,
                  **options) -> None:
    """Train a nuwave model on folders of high-resolution audio."""
    try:
        config = make_config(config_path, options, adapt)
    except (ValueError, TypeError) as error:
        raise click.UsageError(str(error)) from None
    if not config.data:
        raise click.UsageError("no training data: give --data FOLDER (or a config with data)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("accelerate").setLevel(logging.WARNING)
    from nuwave.training.loop import train

    export = train(config, resume=resume, stop_at=stop_at)
    click.echo(f"exported {export}" if export else f"stopped at step {stop_at}; continue with --resume", err=True)


if __name__ == "__main__":
    train_command()
