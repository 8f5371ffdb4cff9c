"""The `nuwave` command. Heavy imports (torch, diffusers) happen inside the commands, so `--help` is instant."""

from __future__ import annotations

import click

from nuwave import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nuwave")
def main() -> None:
    """Restore the high frequencies of band-limited audio with conditional waveform diffusion."""


if __name__ == "__main__":
    main()
