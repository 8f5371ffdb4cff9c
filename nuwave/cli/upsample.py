"""`nuwave upsample`: files and folders in, high-resolution files out; nothing is lost on the way."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from nuwave.cli.common import (
    FiniteRange,
    fail,
    load_model,
    model_options,
    phase_lock_option,
    temperature_option,
    top_hedge_option,
)
from nuwave.inference.options import (
    CHANNEL_MODES,
    DEFAULT_CHANNEL_MODE,
    DEFAULT_STEPS,
    TOP_HEDGE_HZ,
    applied_top_hedge_db,
)

OUTPUT_EXTENSIONS = (".wav", ".flac")
# The lowest cutoff a user may give: below it there is no band to start from.
MIN_CUTOFF_HZ = 100.0


def plan_jobs(inputs: tuple[Path, ...], output: Path, extension: str) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, destination) pairs for the inputs (files, or folders walked recursively), and errors."""
    from nuwave.audio.files import READ_EXTENSIONS

    inside_output = output.resolve()
    single_file = len(inputs) == 1 and not _is_dir(inputs[0])
    to_file = single_file and output.suffix.lower() in OUTPUT_EXTENSIONS and not _is_dir(output)
    jobs, errors = [], []
    for source in inputs:
        try:
            if not source.exists():
                errors.append(f"{source}: no such file or folder")
            elif source.is_dir():
                found = sorted(
                    p for p in source.rglob("*")
                    if p.is_file() and p.suffix.lower() in READ_EXTENSIONS and inside_output not in p.resolve().parents
                )
                if not found:
                    errors.append(f"{source}: no audio files in this folder")
                jobs += [(p, (output / p.relative_to(source)).with_suffix(extension)) for p in found]
            else:
                jobs.append((source, output if to_file else output / (source.stem + extension)))
        except OSError as error:  # a folder that cannot be entered, a name too long for the file system
            errors.append(f"{source}: cannot be read ({error.strerror or error})")
    return jobs, errors


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def collisions(jobs: list[tuple[Path, Path]]) -> list[str]:
    """What would be lost if the jobs ran: two inputs written to one output, or an output that is an input of
    the run (even with --overwrite). One message per problem; empty when the plan is safe."""
    def key(path: Path) -> str:
        return os.path.normcase(os.path.realpath(path))

    sources = {key(source) for source, _ in jobs}
    by_destination: dict[str, list[Path]] = {}
    problems = []
    for source, destination in jobs:
        by_destination.setdefault(key(destination), []).append(source)
        if key(destination) in sources:
            problems.append(f"{destination}: is an input of this run and would be overwritten; choose another output")
    for destination, (first, *others) in ((d, s) for d, s in by_destination.items() if len(s) > 1):
        named = ", ".join(str(p) for p in [first, *others])
        problems.append(f"{named}: would all be written to {destination}; rename them or upsample them in "
                        "separate runs")
    return problems


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Output file (.wav or .flac) for one input file, else a folder (mirrors input folders).")
@click.option("--sample-rate", default=48000, show_default=True, type=click.IntRange(8000, 192000),
              help="Output sample rate in Hz.")
@click.option("--subtype", type=click.Choice(["PCM_16", "PCM_24", "FLOAT"], case_sensitive=False),
              help="Sample format: PCM_24 (default), PCM_16, or FLOAT (WAV only).")
@click.option("--format", "container", default="wav", show_default=True, type=click.Choice(["wav", "flac"]),
              help="Container of the files written into an output folder.")
@click.option("--steps", default=DEFAULT_STEPS, show_default=True, type=click.IntRange(1, 1000), help="Sampler steps.")
@temperature_option
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the initial noise.")
@click.option("--cutoff", type=FiniteRange(min=MIN_CUTOFF_HZ),
              help="Where the input's content ends, in Hz (default: detected from its spectrum).")
@click.option("--top", type=FiniteRange(min=MIN_CUTOFF_HZ),
              help="Where the output's content ends, in Hz (e.g. 20000 for recordings known to stop there); "
              "nothing is generated above it. Default: not known (--top-hedge-db).")
@top_hedge_option
@click.option("--channel-mode", default=DEFAULT_CHANNEL_MODE, show_default=True, type=click.Choice(CHANNEL_MODES),
              help="Stereo as mid and side, each with its own noise (the generated band follows each channel); "
              "independent: every channel its own noise; shared: every channel the same noise.")
@click.option("--codec-cut", default="auto", show_default=True, type=click.Choice(["auto", "yes", "no"]),
              help="Whether the input's cutoff is a lossy codec's, so that the generated band continues the input's "
              "top instead of starting afresh and the encoder's spectral holes under the cut are filled; auto: yes "
              "for MP3, Vorbis and Opus files, except an MP3 (constant bit rate, or variable with its LAME quality "
              "stated) whose content ends from 18 kHz up but 0.6 kHz or more under where its encoder cuts: that band "
              "is the recording's own, resampled only.")
@phase_lock_option
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Chunks per model call.")
@click.option("--chunk-seconds", default=10.0, show_default=True, type=FiniteRange(1.0, 600.0),
              help="Length of the chunks a file is processed in.")
@model_options
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist (default: skip them).")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def upsample(inputs, output, sample_rate, subtype, container, steps, temperature, seed, cutoff, top, top_hedge_db,
             channel_mode, codec_cut, phase_lock, batch_size, chunk_seconds, model, sampler, device, dtype, overwrite,
             quiet) -> None:
    """Upsample INPUTS (audio files or folders) to high-resolution audio."""
    if len(inputs) > 1 and output.suffix.lower() in OUTPUT_EXTENSIONS:
        raise click.UsageError("several inputs need an output folder, not a file name")
    jobs, errors = plan_jobs(inputs, output, "." + container)
    for message in errors:
        fail(message)
    refused = collisions(jobs)
    if refused:
        for message in refused:
            fail(message)
        fail("nothing was written")
        sys.exit(1)
    pending = []
    skipped = 0
    for source, destination in jobs:
        if _exists(destination) and not overwrite:
            skipped += 1
            if not quiet:
                click.echo(f"{source}: skipped, {destination} exists (--overwrite replaces it)", err=True)
        else:
            pending.append((source, destination))

    done, failed = 0, len(errors)
    signal.signal(signal.SIGTERM, _terminate)  # `kill` cleans up as Ctrl-C does
    if pending:
        from nuwave.audio.files import AudioError
        from nuwave.inference.upsample import UpsampleSettings, upsample_file

        pipe = load_model(model, sampler, device, dtype)
        settings = UpsampleSettings(
            target_rate=sample_rate, num_inference_steps=steps, temperature=temperature, seed=seed,
            cutoff=cutoff, top=top, top_hedge_db=top_hedge_db, channel_mode=channel_mode, batch_size=batch_size,
            codec_cut={"auto": None, "yes": True, "no": False}[codec_cut], phase_lock=phase_lock,
            chunk_seconds=chunk_seconds, subtype=subtype,
        )
        for number, (source, destination) in enumerate(pending, 1):
            try:
                with ProgressBar(f"[{number}/{len(pending)}] {source.name}", quiet) as progress:
                    result = upsample_file(pipe, source, destination, settings, progress)
            except (AudioError, ValueError) as error:
                fail(str(error))
                failed += 1
                continue
            except KeyboardInterrupt as interruption:
                fail(f"interrupted while writing {destination}; nothing was written under that name")
                sys.exit(143 if isinstance(interruption, Terminated) else 130)
            done += 1
            if not quiet:
                click.echo(_describe(result, destination, sample_rate, top, top_hedge_db), err=True)
    if not quiet or failed:
        click.echo(f"done {done}, skipped {skipped}, failed {failed}", err=True)
    sys.exit(1 if failed else 0)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that the partial output is removed as for Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _describe(result, destination: Path, sample_rate: int, top: float | None, top_hedge_db: float = 0.0) -> str:
    info = result.info
    how = ("detected" if result.detected else "given") + (", a codec's" if result.codec_cut else "")
    if result.encoder_cut is not None:
        how += f", the recording's own: its encoder cuts at {result.encoder_cut / 1000:.1f} kHz"
    end = sample_rate / 2 if top is None else min(top, sample_rate / 2)
    if not result.full_band:
        what = f"generated {result.cutoff / 1000:.1f}-{end / 1000:.1f} kHz"
        if applied_top_hedge_db(top_hedge_db, top, result.codec_cut) > 0 and end > TOP_HEDGE_HZ[0]:
            what += f", {top_hedge_db:g} dB down above 20 kHz (--top-hedge-db)"
    elif top is not None and top <= result.cutoff:
        what = "content already reaches --top, resampled only"
    elif result.encoder_cut is not None:
        what = "its own full band, resampled only"
    else:
        what = "full band, resampled only"
    return (f"{info.path}: {info.sample_rate} Hz, {info.channels} ch, {info.duration:.1f} s, cutoff "
            f"{result.cutoff / 1000:.1f} kHz ({how}); {what} -> {destination}")


class ProgressBar:
    """A click progress bar over a file's chunks, on a terminal only, labelled with the file's place in the run;
    it appears when the first chunk is done."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet, self.bar = label, quiet, None

    def __enter__(self):
        return None if self.quiet or not sys.stderr.isatty() else self.update

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
