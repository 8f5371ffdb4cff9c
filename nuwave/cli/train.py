"""`accelerate launch -m nuwave.cli.train --config CONFIG [--option value ...]`: train or fine-tune a model.

Also `nuwave train ...` for a single process. Options given on the command line override the config file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from nuwave.training.config import TrainConfig, click_options


def make_config(config_path: Path | None, options: dict) -> TrainConfig:
    given = {k: v for k, v in options.items() if v is not None and v != ()}
    if "data" in given:
        given["data"] = list(given["data"])
    return TrainConfig.load(config_path, **given) if config_path else TrainConfig(**given)


@click.command(name="train")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON training config (as saved in every run folder).")
@click.option("--resume", is_flag=True, help="Continue from the newest saved state in the run folder.")
@click.option("--stop-at", type=click.IntRange(1), default=None,
              help="Save the state and stop at this step (continue later with --resume).")
@click_options
def train_command(config_path: Path | None, resume: bool, stop_at: int | None, **options) -> None:
    """Train a nuwave model on folders of high-resolution audio."""
    try:
        config = make_config(config_path, options)
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
