"""The `nuwave` command. Heavy imports (torch, diffusers) happen inside the commands, so `--help` is instant."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from nuwave import __version__

# The shipped checkpoint: `checkpoints/<name>` at the root of the repository.
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "nuwave-base"
# Mirrors nuwave.schedule.SCHEDULERS (a test keeps them equal) so that --help needs no diffusers import.
SCHEDULER_NAMES = ("ddim", "dpmsolver++", "unipc", "euler", "heun")
# Mirrors nuwave.pipeline.CHANNEL_MODES (a test keeps them equal), for the same reason.
CHANNEL_MODES = ("mid-side", "independent", "shared")
# Mirrors nuwave.schedule.DEFAULT_TEMPERATURE (a test keeps them equal), for the same reason.
DEFAULT_TEMPERATURE = 0.15
TEMPERATURE_HELP = ("0 to 1: how far the result goes from the model's mean estimate (best SNR) towards its full "
                    "sample (generated detail at full level, own phase).")
OUTPUT_EXTENSIONS = (".wav", ".flac")
# The lowest cutoff a user may give: below it there is no band to start from.
MIN_CUTOFF_HZ = 100.0


def fail(message: str) -> None:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nuwave")
def main() -> None:
    """Restore the high frequencies of band-limited audio with conditional waveform diffusion."""


def plan_jobs(inputs: tuple[Path, ...], output: Path, extension: str) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(source, destination) pairs for the inputs (files, or folders walked recursively), and errors."""
    from nuwave.audio_io import READ_EXTENSIONS

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


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Output file (.wav or .flac) for one input file, else a folder (mirrors input folders).")
@click.option("--sample-rate", default=48000, show_default=True, type=click.IntRange(8000, 192000),
              help="Output sample rate in Hz.")
@click.option("--subtype", type=click.Choice(["PCM_16", "PCM_24", "FLOAT"], case_sensitive=False),
              help="Sample format: PCM_24 (default), PCM_16, or FLOAT (WAV only).")
@click.option("--format", "container", default="wav", show_default=True, type=click.Choice(["wav", "flac"]),
              help="Container of the files written into an output folder.")
@click.option("--steps", default=8, show_default=True, type=click.IntRange(1, 1000), help="Sampler steps.")
@click.option("--scheduler", default="dpmsolver++", show_default=True, type=click.Choice(SCHEDULER_NAMES))
@click.option("--temperature", default=DEFAULT_TEMPERATURE, show_default=True, type=FiniteRange(0.0, 1.0),
              help=TEMPERATURE_HELP)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the initial noise.")
@click.option("--cutoff", type=FiniteRange(min=MIN_CUTOFF_HZ),
              help="The input's real bandwidth in Hz (default: detected from its spectrum).")
@click.option("--top", type=FiniteRange(min=MIN_CUTOFF_HZ),
              help="Where the output's content ends, in Hz (e.g. 20000 for recordings known to stop there); "
              "nothing is generated above it. Default: wherever the model puts it.")
@click.option("--channel-mode", default=CHANNEL_MODES[0], show_default=True, type=click.Choice(CHANNEL_MODES),
              help="Stereo as mid and side, each with its own noise (the generated band follows each channel); "
              "independent: every channel its own noise; shared: every channel the same noise.")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Chunks per model call.")
@click.option("--chunk-seconds", default=10.0, show_default=True, type=FiniteRange(1.0, 600.0),
              help="Length of the chunks a file is processed in.")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="A save_pretrained model folder (default: the shipped checkpoint).")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist (default: skip them).")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def upsample(inputs, output, sample_rate, subtype, container, steps, scheduler, temperature, seed, cutoff, top,
             channel_mode, batch_size, chunk_seconds, model, device, overwrite, quiet) -> None:
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
        from nuwave.audio_io import AudioError
        from nuwave.pipeline import ModelError, load_pipeline, resolve_device
        from nuwave.upsample import UpsampleSettings, upsample_file

        try:
            torch_device = resolve_device(device)
        except ModelError as error:
            fail(str(error))
            sys.exit(1)
        try:
            pipe = load_pipeline(model or DEFAULT_MODEL, str(torch_device))
        except ModelError as error:
            fail(str(error) if model else f"{error} (the shipped checkpoint is missing; pass --model PATH)")
            sys.exit(1)
        settings = UpsampleSettings(
            target_rate=sample_rate, num_steps=steps, scheduler=scheduler, temperature=temperature, seed=seed,
            cutoff=cutoff, top=top, channel_mode=channel_mode, batch_size=batch_size,
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
                click.echo(_describe(result, destination, sample_rate, top), err=True)
    if not quiet or failed:
        click.echo(f"done {done}, skipped {skipped}, failed {failed}", err=True)
    sys.exit(1 if failed else 0)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that the partial output is removed as for Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def _parse_steps(context, parameter, value: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(item) for item in value.split(",") if item.strip())
    except ValueError:
        raise click.BadParameter("a comma-separated list of integers, e.g. 1,2,4,8") from None
    if not steps or not all(1 <= item <= 1000 for item in steps):
        raise click.BadParameter("step counts must be from 1 to 1000")
    return steps


@main.command(name="eval")
@click.option("--suite", "suite_path", required=True,
              help="A suite JSON file, or the name of one in eval/suites/.")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="A save_pretrained model folder (default: the shipped checkpoint).")
@click.option("--baselines-only", is_flag=True, help="Evaluate the input and sinc baselines only, no model.")
@click.option("--steps", default="1,2,4,8,16,32", show_default=True, callback=_parse_steps,
              help="Step counts to evaluate, comma-separated.")
@click.option("--scheduler", default="dpmsolver++", show_default=True, type=click.Choice(SCHEDULER_NAMES))
@click.option("--temperature", default=DEFAULT_TEMPERATURE, show_default=True, type=FiniteRange(0.0, 1.0),
              help=TEMPERATURE_HELP)
@click.option("--runs", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Repeat the model with seeds 0..N-1 and report mean ± std.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Results folder (default: eval/results/<suite name>).")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("-q", "--quiet", is_flag=True)
def evaluate_command(suite_path, model, baselines_only, steps, scheduler, temperature, runs, out, device, quiet
                     ) -> None:
    """Run the benchmark SUITE: baselines and the model at each step count; write reports."""
    from nuwave.evaluate import Suite, evaluate, suite_file
    from nuwave.pipeline import ModelError, load_pipeline, resolve_device
    from nuwave.report import environment, write_report

    path = suite_file(suite_path)
    try:
        suite = Suite.load(path)
    except (OSError, ValueError, KeyError) as error:
        fail(f"{path}: not a usable suite ({error})")
        sys.exit(1)
    pipe = None
    try:
        torch_device = str(resolve_device(device))
        if not baselines_only:
            pipe = load_pipeline(model or DEFAULT_MODEL, torch_device)
    except ModelError as error:
        fail(str(error))
        sys.exit(1)
    figure_steps = 8 if 8 in steps else max(steps)
    kept = {}

    def keep(condition, system, count, audio):
        if system != "nuwave" or count == figure_steps:
            kept[(condition, system)] = audio

    say = None if quiet else (lambda text: click.echo(f"{suite.name}: {text}", err=True))
    try:
        records = evaluate(suite, pipe, steps, scheduler, runs, torch_device, keep, say, temperature)
    except Exception as error:  # an unreadable reference: name it and stop
        fail(str(error))
        sys.exit(1)
    command = "nuwave eval " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["eval"] else "nuwave eval"
    model_name = None if pipe is None else str(model or DEFAULT_MODEL)
    paths = write_report(out or Path("eval/results") / suite.name, suite, records, kept,
                         environment(torch_device), command, f"{scheduler}, temperature {temperature:g}", model_name)
    if not quiet:
        click.echo("wrote " + ", ".join(str(p) for p in paths), err=True)


def _describe(result, destination: Path, sample_rate: int, top: float | None) -> str:
    info = result.info
    how = "detected" if result.detected else "given"
    end = sample_rate / 2 if top is None else min(top, sample_rate / 2)
    if not result.full_band:
        what = f"generated {result.cutoff / 1000:.1f}-{end / 1000:.1f} kHz"
    elif top is not None and top <= result.cutoff:
        what = "content already reaches --top, resampled only"
    else:
        what = "full bandwidth, resampled only"
    return (f"{info.path}: {info.sample_rate} Hz, {info.channels} ch, {info.duration:.1f} s, bandwidth "
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


def _register_train() -> None:
    from nuwave.train import train_command

    main.add_command(train_command)


_register_train()

if __name__ == "__main__":
    main()
