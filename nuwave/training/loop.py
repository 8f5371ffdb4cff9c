"""The training loop on accelerate: one process or many, CPU or GPUs, resumable step for step."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel

from nuwave import checkpoints
from nuwave.audio.degrade import DegradationRange
from nuwave.benchmark.metrics import lsd_split
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models.denoiser import NuWaveDenoiser
from nuwave.models.readout import PhaseReadout
from nuwave.models.schedule import make_sampler
from nuwave.training.config import TrainConfig
from nuwave.training.data import AudioCache, SegmentDataset, index_sources, prepare_files, split_files
from nuwave.training.loss import training_loss

logger = logging.getLogger("nuwave.train")
AUDITED_INDICES = 256


class StepCounter:
    """The optimizer step count, saved and restored with the training state."""

    def __init__(self) -> None:
        self.step = 0

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])


def build_models(config: TrainConfig):
    """(denoiser, scheduler): a new model (`NuWaveDenoiser`'s defaults, with the config's model options that are
    set) and the default sampler on the new-model noise schedule, or those of the `init_from` folder, whose
    weights are kept under the model options the config sets (a tilt, an envelope predictor for a model without
    one, the envelope's dilation and anchor)."""
    if config.init_from:
        pipe = NuWavePipeline.from_pretrained(config.init_from)
        denoiser = pipe.denoiser
        settings = {key: value for key, value in denoiser.config.items() if not key.startswith("_")}
        changes = {name: getattr(config, name) for name in ("tilt_db_per_octave", "envelope_dilation",
                                                             "envelope_anchor") if getattr(config, name) is not None}
        bands = model_default("envelope_bands") if config.envelope_bands is None else config.envelope_bands
        if denoiser.envelope is None and bands > 0:  # a model without one gets a new predictor
            changes["envelope_bands"] = bands
        if any(settings.get(name) != value for name, value in changes.items()):
            torch.manual_seed(config.seed)
            # The constructor, not `from_config`: a config loaded from a folder written before these options
            # existed lists them as "default values", and `from_config` would put those defaults back.
            rebuilt = NuWaveDenoiser(**{**settings, **changes})
            weights = denoiser.state_dict()
            old_anchor = settings.get("envelope_anchor")
            new_anchor = changes.get("envelope_anchor", old_anchor)
            if new_anchor != old_anchor and "input-top" in (old_anchor, new_anchor):
                # the head's offsets were learned against another level: it starts again from zero ("blend" starts
                # as "frame-mean", so between those two the head is kept)
                weights = {name: value for name, value in weights.items() if not name.startswith("envelope.head.")}
            weights = {name: value for name, value in weights.items()
                       if not name.startswith("envelope.top_share.") or new_anchor == "blend"}
            missing, unexpected = rebuilt.load_state_dict(weights, strict=False)
            if unexpected or any(not name.startswith("envelope") for name in missing):
                raise ValueError(f"{config.init_from}: weights do not fit a denoiser with an envelope predictor")
            denoiser = rebuilt
        return denoiser.train(), pipe.scheduler
    torch.manual_seed(config.seed)
    given = {name: getattr(config, name) for name in config.MODEL_OPTIONS if getattr(config, name) is not None}
    return NuWaveDenoiser(**given), make_sampler()


def model_default(name: str):
    """The default of one of `NuWaveDenoiser`'s options."""
    return inspect.signature(NuWaveDenoiser.__init__).parameters[name].default


def make_accelerator(config: TrainConfig, run_dir: Path) -> tuple[Accelerator, list[str]]:
    """The accelerator (one process or many, CPU or GPUs) and its trackers (TensorBoard when installed)."""
    trackers = []
    try:
        import tensorboard  # noqa: F401

        trackers = ["tensorboard"]
    except ImportError:
        pass
    # cpu=True without CUDA: under `accelerate launch --multi_gpu` that gives gloo processes (MULTI_CPU), where
    # accelerate would otherwise fall back to independent single processes.
    accelerator = Accelerator(cpu=not torch.cuda.is_available(),
                              gradient_accumulation_steps=config.gradient_accumulation,
                              mixed_precision=config.mixed_precision, log_with=trackers or None,
                              project_dir=str(run_dir))
    return accelerator, trackers


def build_data(config: TrainConfig, accelerator: Accelerator, run_dir: Path, rate: int
               ) -> tuple[torch.utils.data.DataLoader, SegmentDataset]:
    """The training loader and the fixed validation segments: files indexed, split by file (`split.json`),
    decoded and resampled once into the run's cache."""
    train_sources, val_sources = split_sources(config)
    cache = AudioCache(run_dir / "cache", rate, config.stereo, config.target_resampler)
    with accelerator.main_process_first():
        if accelerator.is_main_process:
            (run_dir / "split.json").write_text(json.dumps(
                {"train": [s.path for s in train_sources], "validation": [s.path for s in val_sources]}, indent=1))
        train_files = prepare_files(train_sources, cache)
        val_files = prepare_files(val_sources or train_sources[:1], cache)  # none held out: its first file
    per_step = config.batch_size * config.gradient_accumulation * accelerator.num_processes
    dataset = segments(config, train_files, rate, config.max_steps * per_step, config.seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=config.batch_size, shuffle=False, num_workers=config.num_workers,
        pin_memory=accelerator.device.type == "cuda", persistent_workers=config.num_workers > 0,
        drop_last=True,
    )
    return loader, held_out_segments(config, val_files, rate)


def split_sources(config: TrainConfig) -> tuple[list, list]:
    """The run's source files, split into training and validation by whole file (a function of the config)."""
    return split_files(index_sources(config.data), config.validation_fraction, config.seed)


def segments(config: TrainConfig, files: list, rate: int, count: int, seed: int, tilt: bool = True
             ) -> SegmentDataset:
    """`count` segments of `files` drawn and degraded as `config` says: the training data (seed `config.seed`) or
    the fixed validation segments (`held_out_segments`)."""
    ranges = DegradationRange(config.min_cutoff_hz, config.max_cutoff_hz, config.codec_probability,
                              config.resample_probability)
    return SegmentDataset(files, rate, round(config.segment_seconds * rate), count, seed, ranges, config.silence_db,
                          config.gain_db, config.balance, config.pause_probability,
                          config.eq_tilt_db if tilt else 0.0)


def validation_segments(config: TrainConfig, rate: int) -> SegmentDataset:
    """A run's fixed validation segments, rebuilt from its config (the split by file is a function of it) and
    its cache, for comparing models on them after the run (`scripts/validate_models.py`)."""
    train_sources, val_sources = split_sources(config)
    cache = AudioCache(Path(config.run_dir) / "cache", rate, config.stereo, config.target_resampler)
    files = prepare_files(val_sources or train_sources[:1], cache)
    return held_out_segments(config, files, rate)


def held_out_segments(config: TrainConfig, files: list, rate: int) -> SegmentDataset:
    """The run's fixed validation segments of its validation `files`: their own seed (`config.seed + 1`) and no
    spectral tilt (measured on the recordings as they are)."""
    return segments(config, files, rate, config.validation_segments, config.seed + 1, tilt=False)


def build_optimization(config: TrainConfig, denoiser, processes: int):
    """AdamW with linear warm-up and cosine decay to zero at `max_steps`."""
    learning = [parameter for parameter in denoiser.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(learning, lr=config.learning_rate, weight_decay=config.weight_decay)
    # accelerate steps a prepared scheduler once per process per optimizer step: scale its length to match.
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps * processes,
                                                  config.max_steps * processes)
    return optimizer, lr_schedule


def state_folders(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "state").glob("step_*"))


def train(config: TrainConfig, resume: bool = False, stop_at: int | None = None) -> Path | None:
    """Train per `config`; returns the exported `save_pretrained` folder of the EMA weights.

    `stop_at`: save the state and return None once this step is reached (to continue later with `resume`).
    """
    run_dir = Path(config.run_dir)
    accelerator, trackers = make_accelerator(config, run_dir)
    set_seed(config.seed)
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save(run_dir / "config.json")

    denoiser, scheduler = build_models(config)
    diffusion = config.train_only == "all"
    if not diffusion:
        if denoiser.envelope is None:
            raise ValueError("--train-only envelope needs a model with an envelope predictor (--envelope-bands)")
        denoiser.requires_grad_(False)
        for part in (denoiser.envelope, denoiser.envelope_embedding):
            part.requires_grad_(True)
    loader, validation = build_data(config, accelerator, run_dir, denoiser.config.sample_rate)
    optimizer, lr_schedule = build_optimization(config, denoiser, accelerator.num_processes)
    denoiser, optimizer, loader, lr_schedule = accelerator.prepare(denoiser, optimizer, loader, lr_schedule)
    ema = EMAModel(accelerator.unwrap_model(denoiser).parameters(), decay=config.ema_decay)
    ema.to(accelerator.device)
    counter = StepCounter()
    accelerator.register_for_checkpointing(ema, counter)

    if resume:
        resume_state(accelerator, run_dir, counter)
    if accelerator.is_main_process and trackers:
        accelerator.init_trackers("nuwave", config={k: str(v) for k, v in config.__dict__.items()})

    batches = accelerator.skip_first_batches(loader, counter.step * config.gradient_accumulation)
    denoiser.train()
    started, seen, losses, indices = time.perf_counter(), 0, [], []
    for batch in batches:
        if counter.step >= config.max_steps:
            break
        # Noise and timesteps: a function of (seed, step, process, micro-batch), so resume is exact.
        generator = torch.Generator().manual_seed(
            hash((config.seed, counter.step, accelerator.process_index, seen % config.gradient_accumulation))
            % 2**63
        )
        parts = learn(accelerator, denoiser, scheduler, optimizer, lr_schedule, batch, generator, config.grad_clip,
                      diffusion, config.envelope_segment_weight)
        seen += 1
        losses.append({name: value.detach() for name, value in parts.items() if name != "loss"})
        indices += batch["index"].tolist()[: max(0, AUDITED_INDICES - len(indices))]
        if not accelerator.sync_gradients:
            continue
        ema.step(accelerator.unwrap_model(denoiser).parameters())
        counter.step += 1
        step = counter.step
        last = step == config.max_steps
        if step % config.log_every == 0 or last:
            speed = seen * config.batch_size * accelerator.num_processes / (time.perf_counter() - started)
            log_losses(accelerator, run_dir, step, losses, lr_schedule.get_last_lr()[0], speed)
            losses.clear()
        if step % config.validate_every == 0 or last:
            metrics = validate(accelerator, denoiser, ema, scheduler, validation, config)
            log(accelerator, run_dir, step, metrics,
                "validation loss %.4f  LSD %.3f" % (metrics["val/loss"], metrics["val/lsd"]))
        if step % config.save_every == 0 or last or step == stop_at:
            save_state(accelerator, run_dir, step, config.keep_last)
        if step == stop_at:
            break

    if seen:  # a resumed run that was already finished trains nothing: its audit stays that of its last invocation
        write_audit(run_dir, accelerator, denoiser, seen * config.batch_size, indices)
    accelerator.wait_for_everyone()
    if counter.step < config.max_steps:
        accelerator.end_training()
        return None
    export = run_dir / "export"
    if accelerator.is_main_process:
        model = accelerator.unwrap_model(denoiser)
        export_ema(model, ema, scheduler, export, inherited_readout(config, model))
    accelerator.end_training()
    return export


def resume_state(accelerator: Accelerator, run_dir: Path, counter: StepCounter) -> None:
    """Load the newest saved state of the run (weights, optimizer, LR schedule, EMA, step, RNGs), if any."""
    saved = state_folders(run_dir)
    if saved:
        accelerator.load_state(str(saved[-1]))
        logger.info("resumed from %s at step %d", saved[-1], counter.step)


def learn(accelerator: Accelerator, denoiser, scheduler, optimizer, lr_schedule, batch: dict,
          generator: torch.Generator, grad_clip: float, diffusion: bool = True, segment_weight: float = 1.0
          ) -> dict[str, torch.Tensor]:
    """One micro-batch: the losses (`diffusion=False`: the envelope's alone; `segment_weight`:
    `nuwave.training.loss.envelope_loss`'s), their gradients, and (when the
    accumulation is complete) an optimizer step with the gradient norm clipped at `grad_clip` (0: not clipped).
    Returns the losses."""
    with accelerator.accumulate(denoiser):
        parts = training_loss(denoiser, scheduler, batch, generator, diffusion, segment_weight)
        accelerator.backward(parts["loss"])
        if accelerator.sync_gradients and grad_clip > 0:
            accelerator.clip_grad_norm_(denoiser.parameters(), grad_clip)
        optimizer.step()
        lr_schedule.step()
        optimizer.zero_grad()
    return parts


def log_losses(accelerator: Accelerator, run_dir: Path, step: int, losses: list[dict], lr: float, speed: float
               ) -> None:
    """The mean of each loss since the last log line over every process, the learning rate and the speed."""
    logs = {name: accelerator.gather(torch.stack([item[name] for item in losses]).mean()[None]).mean().item()
            for name in losses[0]}
    logs.update({"lr": lr, "speed/segments_per_s": speed})
    shown = "  ".join(f"{name[5:]} {logs[name]:.4f}" for name in ("loss/diffusion", "loss/envelope") if name in logs)
    log(accelerator, run_dir, step, logs, f"loss: {shown}  lr {lr:.2e}  {speed:.1f} segments/s")


def log(accelerator: Accelerator, run_dir: Path, step: int, values: dict, line: str) -> None:
    """Values to the trackers and to `run_dir/metrics.jsonl`, and `line` to the log (main process)."""
    accelerator.log(values, step=step)
    record(accelerator, run_dir, step, values)
    if accelerator.is_main_process:
        logger.info("step %d  %s", step, line)


def record(accelerator: Accelerator, run_dir: Path, step: int, values: dict) -> None:
    """Append logged values to `run_dir/metrics.jsonl` (main process), with the step and the wall clock."""
    if accelerator.is_main_process:
        with open(run_dir / "metrics.jsonl", "a") as log:
            log.write(json.dumps({"step": step, "time": round(time.time(), 3), **values}) + "\n")


def write_audit(run_dir: Path, accelerator: Accelerator, denoiser, segments: int, indices: list[int]) -> None:
    """Per process: how many segments it trained on in this invocation, the first dataset indices it saw, and
    a checksum of its weights (every process must hold the same weights)."""
    digest = hashlib.sha256()
    for parameter in accelerator.unwrap_model(denoiser).parameters():
        digest.update(parameter.detach().float().cpu().numpy().tobytes())
    folder = run_dir / "ranks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank_{accelerator.process_index}.json").write_text(json.dumps(
        {"segments": segments, "first_indices": indices, "weights_sha256": digest.hexdigest()}))


def save_state(accelerator: Accelerator, run_dir: Path, step: int, keep_last: int) -> None:
    accelerator.save_state(str(run_dir / "state" / f"step_{step:08d}"))
    if accelerator.is_main_process:
        for old in state_folders(run_dir)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def inherited_readout(config: TrainConfig, denoiser: NuWaveDenoiser) -> PhaseReadout | None:
    """The `init_from` folder's phase readout (`nuwave.models.readout`), when it `fits` the trained denoiser: a
    fine-tuned model keeps it (it reads the input, not the denoiser's weights); None for a new model, a folder
    without one, or one that no longer fits (retrain it with `scripts/train_readout.py`)."""
    if not config.init_from:
        return None
    folder = Path(checkpoints.resolve(config.init_from)) / "phase_readout"
    if not folder.is_dir():
        return None
    readout = PhaseReadout.from_pretrained(str(folder))
    return readout.eval() if readout.fits(denoiser) else None


def export_ema(denoiser: NuWaveDenoiser, ema: EMAModel, scheduler, folder: Path,
               phase_readout: PhaseReadout | None = None) -> None:
    """The EMA weights as a `save_pretrained` pipeline folder (safetensors + JSON config), with `phase_readout`
    when given."""
    shipped = copy.deepcopy(denoiser).to("cpu").float()
    ema_cpu = copy.deepcopy(ema)
    ema_cpu.to("cpu")
    ema_cpu.copy_to(shipped.parameters())
    NuWavePipeline(denoiser=shipped.eval(), scheduler=scheduler, phase_readout=phase_readout
                   ).save_pretrained(str(folder))


@torch.no_grad()
def validate(accelerator: Accelerator, denoiser, ema: EMAModel, scheduler, dataset: SegmentDataset,
             config: TrainConfig) -> dict:
    """Diffusion loss at fixed timesteps and noise, and the LSD of a short sampling, with the EMA weights, on
    the fixed validation segments; each process takes every N-th segment and the results are gathered."""
    model = accelerator.unwrap_model(denoiser)
    ema.store(model.parameters())
    ema.copy_to(model.parameters())
    model.eval()
    pipe = NuWavePipeline(denoiser=model, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    mine = list(range(accelerator.process_index, len(dataset), accelerator.num_processes))
    width = math.ceil(len(dataset) / accelerator.num_processes)
    values = torch.full((width, 2), float("nan"), device=accelerator.device)
    for row, index in enumerate(mine):
        loss, lsd = validation_values(pipe, dataset, index, config, accelerator.autocast)
        values[row] = torch.tensor([loss, lsd], device=values.device)
    gathered = accelerator.gather(values)
    ema.restore(model.parameters())
    model.train()
    loss, lsd = np.nanmean(gathered[:, 0].cpu().numpy()), np.nanmean(gathered[:, 1].cpu().numpy())
    return {"val/loss": float(loss), "val/lsd": float(lsd)}


@torch.no_grad()
def validation_values(pipe: NuWavePipeline, dataset: SegmentDataset, index: int, config: TrainConfig,
                      autocast=contextlib.nullcontext) -> tuple[float, float]:
    """(loss, LSD) of validation segment `index`: the training loss (the parts `config.train_only` trains, under
    `autocast`) at a fixed timestep and noise, and the LSD of a `config.validation_steps` sampling seeded by the
    index."""
    item = dataset[index]
    batch = {k: v[None].to(pipe.device) for k, v in item.items()}
    fixed = torch.Generator().manual_seed(10_000 + index)
    with autocast():
        loss = training_loss(pipe.denoiser, pipe.scheduler, batch, fixed, config.train_only == "all",
                             config.envelope_segment_weight)["loss"]
    rate = pipe.model_rate
    cutoff = float(item["bandwidth"]) * rate / 2
    out = pipe(item["cond"][0].numpy(), rate, target_rate=rate, num_inference_steps=config.validation_steps,
               cutoff=cutoff, generator=torch.Generator().manual_seed(index)).audios
    lsd = lsd_split(torch.from_numpy(out), item["target"][0], 2 * cutoff, rate)["lsd"]
    return float(loss), float(lsd[0])
