"""The `nuwave` command: `upsample`, `eval` and `train`. Heavy imports (torch, diffusers) happen inside the
commands, so that `nuwave --help` is instant."""

from __future__ import annotations

import click

from nuwave import __version__
from nuwave.cli.evaluate import evaluate_command
from nuwave.cli.train import train_command
from nuwave.cli.upsample import upsample


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nuwave")
def main() -> None:
    """Restore the high frequencies of band-limited audio with conditional waveform diffusion."""


main.add_command(upsample)
main.add_command(evaluate_command)
main.add_command(train_command)

__all__ = ["main"]
