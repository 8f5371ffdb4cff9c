"""The benchmark: suites of reference files, degradations, systems, metrics, and the numbers behind reports.

A suite is a JSON file:

    {"name": "speech", "manifest": "speech_benchmark.txt", "output_rate": 48000,
     "input_rates": [8000, 12000, 16000, 24000], "degradations": ["standard", "mp3", "mp3-64kbps"]}

`manifest` lists reference files, one path per line, relative to the manifest; the manifest is found in the data
folder given to `Suite.load` (`nuwave eval --data`, default `data`, where `scripts/prepare_data.py` builds the
corpus and its benchmark sets), or anywhere when its path is absolute. The shipped suites are found by name
(`suites/*.json` beside this module, installed with the package). Each reference is mixed to mono
and brought to `output_rate` if it has another rate, by ideal band-limited resampling
(`nuwave.audio.dsp.resample_band_limited`: a 44.1 kHz recording keeps its band to 22.05 kHz at 48 kHz output,
where soxr would end it at 20.1 kHz). Every degradation x input rate is a *condition*
(a codec's has no input rate: "mp3" encodes at the output rate at a constant 128 kbit/s, "mp3-64kbps" at 64).
Systems, all through the same metrics:

- `input`: the degraded input brought to the output rate by nuwave's own resampler (soxr): the starting point.
- `sinc`: polyphase (windowed-sinc) interpolation with scipy, the literature's baseline (rate conditions).
- `sbr`: spectral band replication (`nuwave.benchmark.baselines`), a classical non-learned extension, applied to sinc's
  output (rate conditions) or to the decoded input (mp3).
- `nuwave`: the model at every requested step count, `runs` times with seeds 0..runs-1, through the same
  chunked path as `nuwave upsample` (files longer than a chunk are evaluated whole, never cropped). The model is
  told the input's Nyquist frequency in rate conditions and detects the cutoff itself for mp3, where it is told
  that the cutoff is the codec's, as `nuwave upsample` tells it for an MP3 file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nuwave.audio.cutoff import detect_cutoff
from nuwave.audio.degrade import MP3_KBPS, Degradation, is_codec, resample_poly
from nuwave.audio.dsp import resample, resample_band_limited, whole_sample_unit
from nuwave.audio.files import read_audio
from nuwave.benchmark.baselines import spectral_band_replication
from nuwave.benchmark.metrics import all_metrics, band_correlation, band_diagnostics
from nuwave.inference.options import DEFAULT_CHANNEL_MODE, DEFAULT_MODEL, DEFAULT_TEMPERATURE, DEFAULT_TOP_HEDGE_DB

METRICS = ("lsd", "lsd_hf", "lsd_lf", "snr", "mrstft", "si_sdr")
# The generated band's diagnostics (`nuwave.benchmark.metrics.band_diagnostics`, `band_correlation`): per-octave power
# error in active frames, the band's level in pauses, LSD of active and pause frames, the output in digital
# silence, the band's coherence with the reference's; for stereo suites the correlation of the band above the
# cutoff between the channels (`band_corr`), and the reference's (`reference_band_corr`).
DIAGNOSTICS = ("band_db_1", "band_db_2", "band_db_3", "pause_db", "lsd_active", "lsd_pause", "silence_dbfs",
               "band_coherence", "band_corr", "reference_band_corr")
# The shipped suites, found by name (`nuwave eval --suite speech`).
SUITES = Path(__file__).resolve().parent / "suites"


def suite_file(name: str) -> Path:
    """A suite JSON path as given, or, when no such file exists, the shipped suite of that name."""
    path = Path(name)
    if not path.is_file() and (SUITES / f"{name}.json").is_file():
        return SUITES / f"{name}.json"
    return path


@dataclass(frozen=True)
class Suite:
    name: str
    files: tuple[Path, ...]
    output_rate: int
    input_rates: tuple[int, ...]
    degradations: tuple[str, ...]
    stereo: bool = False  # keep the references' two channels (otherwise they are mixed to mono)

    @classmethod
    def load(cls, path: Path, data: Path = Path("data")) -> "Suite":
        """The suite of JSON file `path`, its manifest found in the `data` folder (unless its path is absolute)."""
        spec = json.loads(Path(path).read_text())
        manifest = (Path(data) / spec["manifest"]).resolve()
        lines = [line.strip() for line in manifest.read_text().splitlines()]
        files = tuple((manifest.parent / line).resolve() for line in lines if line and not line.startswith("#"))
        if not files:
            raise ValueError(f"{manifest}: no reference files listed")
        return cls(
            name=spec["name"], files=files, output_rate=int(spec.get("output_rate", 48000)),
            input_rates=tuple(int(r) for r in spec.get("input_rates", [])),
            degradations=tuple(spec.get("degradations", ["standard"])), stereo=bool(spec.get("stereo", False)),
        )

    def conditions(self) -> list[Degradation]:
        out = []
        for name in self.degradations:
            if is_codec(name):
                out.append(Degradation.codec_condition(name))
            else:
                out += [Degradation(name, rate) for rate in self.input_rates]
        return out


def condition_name(condition: Degradation) -> str:
    """"standard-16k", "sinc-22.05k", "mp3" (at the protocol's `MP3_KBPS`), "mp3-64kbps"."""
    if condition.input_rate is not None:
        return f"{condition.name}-{condition.input_rate / 1000:g}k"
    return condition.name if condition.kbps == MP3_KBPS else f"{condition.name}-{condition.kbps}kbps"


@dataclass
class Record:
    """One system's output for one file under one condition."""

    condition: str
    system: str
    steps: int | None
    run: int
    file: str
    seconds: float
    duration: float
    metrics: dict = field(default_factory=dict)
    cutoff: float | None = None  # Hz: the input's Nyquist frequency, or the cutoff detected in a codec's output


@dataclass(frozen=True)
class Output:
    """One system's output for one file under one condition, beside its reference (what `evaluate`'s `each` sees)."""

    condition: str
    system: str
    steps: int | None
    run: int
    file: Path
    audio: np.ndarray  # the reference's shape: `(T,)`, or `(2, T)` in a stereo suite
    reference: np.ndarray
    cutoff: float  # Hz, as `Record.cutoff`
    metrics: dict = field(default_factory=dict)  # `file_metrics` of `audio` against `reference`, as in `Record`


def load_reference(path: Path, output_rate: int, input_rates: tuple[int, ...] = (), stereo: bool = False
                   ) -> np.ndarray:
    """The reference as mono `(T,)` (or, with `stereo`, its two channels `(2, T)`) at `output_rate`, its length
    cut to a whole number of samples at every input rate (at most a few samples), so that every system's output
    has exactly the reference's length."""
    audio, rate = read_audio(path)
    if stereo and audio.shape[0] != 2:
        raise ValueError(f"{path}: a stereo suite needs two channels, the file has {audio.shape[0]}")
    mono = audio if stereo else audio.mean(axis=0)
    mono = resample_band_limited(mono, rate, output_rate)  # its band kept up to the lower Nyquist frequency
    unit = whole_sample_unit(output_rate, input_rates)
    return mono[..., : mono.shape[-1] // unit * unit]


def evaluate(
    suite: Suite,
    pipe=None,
    steps: tuple[int, ...] = (1, 2, 4, 8, 16, 32),
    runs: int = 1,
    device: str = "cpu",
    keep: Callable[[str, str, int | None, np.ndarray], None] | None = None,
    progress: Callable[[str], None] | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    phase_lock: bool | None = None,
    each: Callable[[Output], None] | None = None,
    channel_mode: str = DEFAULT_CHANNEL_MODE,
    top_hedge_db: float = DEFAULT_TOP_HEDGE_DB,
) -> list[Record]:
    """Every system on every file and condition; `keep(condition, system, steps, audio)` sees the outputs of the
    first file (for spectrogram figures), `each` every output with its reference (for analyses beyond the
    metrics). `pipe=None` runs the baselines only; the model samples with its pipeline's scheduler.
    `temperature`, `phase_lock`, `channel_mode`, `top_hedge_db`: as `NuWavePipeline.__call__`'s."""
    from nuwave.audio.encoder import lame_cut
    from nuwave.inference.upsample import UpsampleSettings, upsample_array

    records: list[Record] = []
    output_rate = suite.output_rate
    for index, path in enumerate(suite.files):
        reference = load_reference(path, output_rate, suite.input_rates, suite.stereo)
        duration = reference.shape[-1] / output_rate
        target = torch.from_numpy(reference).to(device)
        for condition in suite.conditions():
            name = condition_name(condition)
            low, low_rate = condition.apply(reference, output_rate)
            # The model is told the Nyquist frequency of a rate condition and detects a codec's cutoff, as
            # `nuwave upsample` would; the LSD-HF / LSD-LF split of every system follows the same cutoff.
            channels = np.atleast_2d(low)
            cutoff = low_rate / 2 if condition.input_rate is not None else detect_cutoff([channels], low_rate)
            length = reference.shape[-1]
            systems: list[tuple[str, int | None, int, Callable[[], np.ndarray]]] = [
                ("input", None, 0, lambda: resample(low, low_rate, output_rate, length)),
            ]
            if condition.input_rate is not None:
                systems.append(("sinc", None, 0, lambda: resample_poly(low, low_rate, output_rate, length)))
            # sbr: the classical extension, on sinc's output (rate conditions) or the decoded input (codec)
            systems.append(("sbr", None, 0, lambda base=systems[-1][3]: spectral_band_replication(
                base(), cutoff, output_rate)))
            if pipe is not None:
                # Under a codec, the cut is taken as `nuwave upsample` takes an MP3 file's: the encoder's, unless
                # the content ends clearly under where LAME cuts at the condition's bit rate (`treatment`).
                lossy = condition.input_rate is None
                cut = lame_cut(low_rate, channels.shape[0], condition.kbps) if lossy else None
                for count in steps:
                    for run in range(runs):
                        settings = UpsampleSettings(
                            target_rate=output_rate, num_inference_steps=count, temperature=temperature,
                            seed=run, cutoff=cutoff, phase_lock=phase_lock, channel_mode=channel_mode,
                            top_hedge_db=top_hedge_db,
                        )
                        systems.append(("nuwave", count, run, lambda s=settings: upsample_array(
                            pipe, channels, low_rate, s, lossy=lossy, encoder_cut=cut)[0]))
            for system, count, run, produce in systems:
                start = time.perf_counter()
                output = np.asarray(produce(), dtype=np.float32).reshape(reference.shape)
                seconds = time.perf_counter() - start
                values = file_metrics(torch.from_numpy(output).to(device), target, cutoff, output_rate)
                records.append(Record(name, system, count, run, str(path), seconds, duration, values, float(cutoff)))
                if each is not None:
                    each(Output(name, system, count, run, path, output, reference, float(cutoff), values))
                if keep is not None and index == 0 and run == 0:
                    keep(name, system, count, np.atleast_2d(output)[0])  # figures show the first channel
            if keep is not None and index == 0:
                keep(name, "reference", None, np.atleast_2d(reference)[0])
        if progress is not None:
            progress(f"{index + 1}/{len(suite.files)} {path.name}")
    return records


def file_metrics(output: torch.Tensor, reference: torch.Tensor, cutoff: float, output_rate: int) -> dict:
    """Every metric of one output against its reference, `(T,)` or `(2, T)` (then each is the mean over the two
    channels, and the band correlations between them are added)."""
    values = {**all_metrics(output, reference, 2 * cutoff, output_rate),
              **band_diagnostics(output, reference, cutoff, output_rate)}
    out = {name: _nanmean(value.cpu().tolist()) for name, value in values.items()}
    if output.ndim == 2:
        out["band_corr"] = float(band_correlation(output, cutoff, output_rate))
        out["reference_band_corr"] = float(band_correlation(reference, cutoff, output_rate))
    return out


def summarise(records: list[Record]) -> list[dict]:
    """Rows (condition, system, steps) with the mean and std over runs of each metric's mean over files, and the
    real-time factor (total processing time / total audio duration)."""
    groups: dict[tuple, list[Record]] = {}
    for record in records:
        groups.setdefault((record.condition, record.system, record.steps), []).append(record)
    rows = []
    for (condition, system, count), members in groups.items():
        by_run: dict[int, list[Record]] = {}
        for record in members:
            by_run.setdefault(record.run, []).append(record)
        row = {"condition": condition, "system": system, "steps": count, "runs": len(by_run), "files": len(by_run[0])}
        for metric in METRICS + DIAGNOSTICS:
            per_run = [_nanmean([r.metrics.get(metric, float("nan")) for r in run]) for run in by_run.values()]
            row[metric] = float(np.mean(per_run))
            row[metric + "_std"] = float(np.std(per_run))
        row["rtf"] = sum(r.seconds for r in members) / sum(r.duration for r in members)
        rows.append(row)
    return rows


def _nanmean(values: list[float]) -> float:
    """The mean of the numbers that are not NaN; NaN when there are none (without numpy's warning)."""
    kept = [v for v in values if not np.isnan(v)]
    return float(np.mean(kept)) if kept else float("nan")


def rate_conditions(suite: Suite) -> Suite:
    """The suite with its rate conditions alone (under a codec's cut sinc is not the baseline)."""
    return replace(suite, degradations=tuple(d for d in suite.degradations if not is_codec(d)))


def outputs_by_file(suite: Suite, pipe, steps: int, systems: tuple[str, ...] = ("sinc", "nuwave"), **options
                    ) -> dict[tuple[str, str, str], Output]:
    """The outputs of `systems` on every condition and file, by (condition, file stem, system): one run (seed 0)
    at `steps`, `options` as `evaluate`'s. For the analyses that go beyond the metrics."""
    outputs: dict[tuple[str, str, str], Output] = {}

    def keep(output: Output) -> None:
        if output.system in systems:
            outputs[output.condition, output.file.stem, output.system] = output

    evaluate(suite, pipe, (steps,), runs=1, each=keep, **options)
    return outputs


def add_analysis_options(parser) -> None:
    """`--data`, `--model` and `--steps` on an `argparse` parser: the options of the scripts that analyse the
    benchmark's outputs (`outputs_by_file`)."""
    parser.add_argument("--data", type=Path, default=Path("data"), help="where the corpus was built")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a shipped model's name or a model folder")
    parser.add_argument("--steps", type=int, default=8, help="sampler steps")


def analysis_pipeline(model: str, device: str = "cpu"):
    """The model's pipeline with its progress bar off, for the analysis scripts."""
    from nuwave.inference.loading import load_pipeline

    pipe = load_pipeline(model, device)
    pipe.set_progress_bar_config(disable=True)
    return pipe
