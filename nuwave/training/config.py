"""The training configuration: one dataclass, saved as JSON beside every run, every field a command-line option.

Each field's metadata gives its help text and, for numbers, its allowed range; `validate` checks ranges for
configs read from JSON too, and `click_options` turns the fields into click options with those ranges, so a bad
value fails at parse time.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import click

from nuwave.models import ENVELOPE_ANCHORS


def option(default: Any, help: str, low: float | None = None, high: float | None = None, choices=None,
           factory=None):
    metadata = {"help": help, "low": low, "high": high, "choices": choices}
    if factory is not None:  # a mutable default (a list): a fresh one per config
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    data: list[str] = option(None, "Folders of high-resolution audio, or manifest files (.txt, one path a line)",
                             factory=list)
    run_dir: str = option("runs/nuwave", "Folder for this run: config, split, state, logs, export")
    init_from: str | None = option(None, "A save_pretrained folder to fine-tune (default: a new model)")
    # The model's options (`MODEL_OPTIONS`): unset, a new model gets `NuWaveDenoiser`'s defaults.
    channels: int | None = option(None, "Denoiser width (new models only; default: NuWaveDenoiser's)", 8, 4096)
    num_blocks: int | None = option(None, "Denoiser depth in ConvNeXt blocks (new models only; default: "
                                    "NuWaveDenoiser's)", 1, 64)
    tilt_db_per_octave: float | None = option(
        None, "Spectral tilt of the diffusion domain, dB per octave (default: NuWaveDenoiser's for a new model, "
        "the fine-tuned model's own)", 0.0, 24.0)
    envelope_bands: int | None = option(
        None, "Bands of the envelope predictor (new models, or added to a fine-tuned model without one; 0: none; "
        "default: NuWaveDenoiser's)", 0, 256)
    envelope_dilation: int | None = option(
        None, "Dilation growth of the envelope predictor's blocks (block k dilated by it to the k-th power; 1: "
        "none; default: NuWaveDenoiser's for a new model, the fine-tuned model's own)", 1, 8)
    envelope_anchor: str | None = option(
        None, "What the envelope predictor's band levels are relative to per frame: the frame's mean log power moved "
        "towards the input's top by a learned share (blend), the input's top (input-top) or the frame's mean "
        "(frame-mean); default: NuWaveDenoiser's for a new model, the fine-tuned model's own",
        choices=ENVELOPE_ANCHORS)
    train_only: str = option("all", "What learns: the whole model, or only its envelope predictor (the diffusion "
                             "frozen and not run: a fast retraining of the band's level)", choices=("all", "envelope"))
    envelope_segment_weight: float = option(
        1.0, "Weight of the envelope loss's segment term (each band's power over the segment) against its "
        "frame-by-frame term: higher moves the band's power over a passage towards the reference's, lower its "
        "median frame (`nuwave.training.loss.envelope_loss`)", 0.0, 100.0)
    balance: str = option("length", "Draw segments by file length, or give every --data entry an equal share",
                          choices=("length", "entries"))
    segment_seconds: float = option(0.75, "Length of training segments", 0.05, 30.0)
    validation_fraction: float = option(0.05, "Fraction of files held out for validation", 0.0, 0.5)
    stereo: str = option("channels", "Stereo files: each channel an example, or mixed to mono",
                         choices=("channels", "mix"))
    target_resampler: str = option(
        "band-limited", "How the targets reach the model's rate: band-limited (by the FFT: the whole band to the "
        "file's Nyquist frequency, nothing above, as the benchmark brings its references to the output's rate), soxr "
        "(flat to 93% of it: a 44.1 kHz recording ends at 20.5 kHz; every run before the shipped checkpoint's last "
        "stage) or sharp (scipy's polyphase filter, flat to 97.5%, images above)",
        choices=("band-limited", "soxr", "sharp"))
    silence_db: float = option(-80.0, "Segments quieter than this (dBFS RMS) are skipped", -120.0, 0.0)
    pause_probability: float = option(0.3, "Probability that a segment gets pauses (digital silence or room tone)",
                                      0.0, 1.0)
    eq_tilt_db: float = option(0.0, "Largest random spectral tilt of a training segment, dB per octave above a "
                               "random 2-8 kHz corner (0: none; validation segments never get one)", 0.0, 12.0)
    min_cutoff_hz: float = option(2000.0, "Lowest low-pass cutoff of the degradation", 500.0, 23000.0)
    max_cutoff_hz: float = option(22000.0, "Highest low-pass cutoff of the degradation", 500.0, 23500.0)
    codec_probability: float = option(0.2, "Probability of an MP3 / Vorbis round trip", 0.0, 1.0)
    resample_probability: float = option(0.0, "Probability that a condition is a plain sample-rate conversion (the "
                                         "random low-pass left out), as most low-rate files are made", 0.0, 1.0)
    gain_db: float = option(-40.0, "Random gain drawn from [gain_db, 0] dB", -60.0, 0.0)
    batch_size: int = option(16, "Segments per process per micro-batch", 1, 4096)
    gradient_accumulation: int = option(1, "Micro-batches per optimizer step", 1, 1024)
    learning_rate: float = option(2e-4, "AdamW peak learning rate", 1e-7, 1.0)
    weight_decay: float = option(0.01, "AdamW weight decay", 0.0, 1.0)
    warmup_steps: int = option(500, "Linear warm-up steps", 0, 10**7)
    max_steps: int = option(100_000, "Optimizer steps in all (cosine decay to zero at the end)", 1, 10**8)
    grad_clip: float = option(1.0, "Gradient norm clip", 0.0, 1e6)
    mixed_precision: str = option("no", "Mixed precision (bf16 / fp16 need a GPU to pay off)",
                                  choices=("no", "bf16", "fp16"))
    ema_decay: float = option(0.999, "EMA decay per optimizer step", 0.0, 1.0)
    save_every: int = option(1000, "Save the training state every N steps", 1, 10**8)
    keep_last: int = option(3, "Training states kept", 1, 1000)
    validate_every: int = option(1000, "Validate every N steps", 1, 10**8)
    validation_segments: int = option(16, "Fixed validation segments", 1, 10_000)
    validation_steps: int = option(4, "Sampler steps of the validation LSD", 1, 1000)
    log_every: int = option(50, "Log every N steps", 1, 10**8)
    num_workers: int = option(2, "Data loader worker processes per training process", 0, 64)
    seed: int = option(0, "Seed of data order, degradations, noise and initialisation", 0, 2**31 - 1)

    MODEL_OPTIONS: ClassVar[tuple[str, ...]] = ("channels", "num_blocks", "tilt_db_per_octave", "envelope_bands",
                                                "envelope_dilation", "envelope_anchor")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for item in dataclasses.fields(self):
            value, meta = getattr(self, item.name), item.metadata
            if value is None:
                continue
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{item.name} = {value} is not a finite number")
            if meta.get("low") is not None and not meta["low"] <= value <= meta["high"]:
                raise ValueError(f"{item.name} = {value} is outside [{meta['low']}, {meta['high']}]")
            if meta.get("choices") and value not in meta["choices"]:
                raise ValueError(f"{item.name} = {value!r}; choose one of {', '.join(meta['choices'])}")
        if self.min_cutoff_hz >= self.max_cutoff_hz:
            raise ValueError("min_cutoff_hz must be below max_cutoff_hz")

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path, **overrides: Any) -> "TrainConfig":
        values = json.loads(Path(path).read_text())
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown options {', '.join(sorted(unknown))}")
        return cls(**{**values, **overrides})


# `nuwave train --adapt MODEL`: fit a trained model's band level to one voice or instrument from a little of its own
# wideband audio. Only the envelope predictor learns (the diffusion frozen and not run: about half a minute on a
# 2-core CPU), briefly and gently, from the model's weights, with the tilts and plain sample-rate conversions of the
# shipped model's last stage; every file trains (no validation split: there is too little audio to spare). Fitted on
# 9-37 s of each of five held-out voices' other lines, their held-out lines from 8 kHz came out at 0.239 against 0.266
# x sinc's LSD, 2.13 against 3.55 dB under sinc's SNR; instrument sets fitted on their one-shot samples gained LSD on
# held-out beats and strums but came out 2-3 dB quieter in active frames (`python scripts/voice_adaptation.py`,
# `eval/results/voice_adaptation.md`).
ADAPTATION = {"train_only": "envelope", "max_steps": 150, "batch_size": 16, "learning_rate": 1e-4,
              "warmup_steps": 10, "ema_decay": 0.95, "eq_tilt_db": 6.0, "resample_probability": 0.5,
              "validation_fraction": 0.0, "save_every": 150, "validate_every": 150, "log_every": 25}


def click_options(function):
    """Decorate a click command with one option per TrainConfig field (default None: 'not given')."""
    for item in reversed(dataclasses.fields(TrainConfig)):
        meta = item.metadata
        name = "--" + item.name.replace("_", "-")
        if item.name == "data":
            function = click.option(name, multiple=True, help=meta["help"])(function)
            continue
        if meta.get("choices"):
            kind = click.Choice(meta["choices"])
        elif meta.get("low") is not None:
            ranged = click.IntRange if str(item.type).split("|")[0].strip() == "int" else click.FloatRange
            kind = ranged(meta["low"], meta["high"])
        else:
            kind = str
        default = item.default if item.default is not dataclasses.MISSING else "[]"
        shown = "" if default is None else f" [default: {default}]"
        function = click.option(name, type=kind, default=None, help=meta["help"] + shown)(function)
    return function
