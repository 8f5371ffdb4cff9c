"""Loading a model: a shipped name or a `save_pretrained` folder onto a device and dtype, with a one-line error
(`ModelError`, naming the folder) for anything missing, corrupt or asked for that this machine cannot run."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from nuwave import checkpoints
from nuwave.inference.options import DEFAULT_DTYPE, DTYPES
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models import ENVELOPE_ANCHORS
from nuwave.models.denoiser import FOLDER_DEFAULTS, NuWaveDenoiser


class ModelError(Exception):
    """A model folder that cannot be loaded; `str(error)` is a one-line message naming the folder."""


def resolve_device(device: str) -> torch.device:
    """'auto' (CUDA when available), 'cpu' or 'cuda'."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(device)


# What a denoiser config may hold: (low, high) for integers, "finite" for real numbers.
CONFIG_BOUNDS = {"sample_rate": (16000, 192000), "n_fft": (16, 65536), "hop_length": (1, 65536),
                 "channels": (1, 65536), "num_blocks": (1, 1024), "expansion": (1, 64), "kernel_size": (1, 1023),
                 "embedding_dim": (2, 65536), "num_train_timesteps": (1, 100000), "envelope_bands": (0, 4096),
                 "envelope_channels": (1, 65536), "envelope_blocks": (0, 1024), "envelope_dilation": (1, 64),
                 "tilt_db_per_octave": "finite", "tilt_corner_hz": "finite", "tilt_max_db": "finite"}


def check_denoiser_config(path: Path) -> None:
    """Refuse a denoiser config.json whose values cannot make a working model, naming the file and the values."""
    import json
    import math

    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        reason = f"unreadable denoiser config: {error}"
        raise ModelError(f"{path}: corrupt or incompatible model folder ({reason})") from None
    if not isinstance(config, dict):
        raise ModelError(f"{path}: a denoiser config must be a JSON object")
    problems = []
    for name, bounds in CONFIG_BOUNDS.items():
        if name not in config:
            continue
        value = config[name]
        if bounds == "finite":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.append(f"{name} = {value!r} is not a finite number")
        elif isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
            problems.append(f"{name} = {value!r} is not an integer from {bounds[0]} to {bounds[1]}")
    anchor = config.get("envelope_anchor", FOLDER_DEFAULTS["envelope_anchor"])
    if anchor not in ENVELOPE_ANCHORS:
        problems.append(f"envelope_anchor = {anchor!r} is not one of {', '.join(ENVELOPE_ANCHORS)}")
    n_fft, hop = config.get("n_fft"), config.get("hop_length")
    if isinstance(n_fft, int) and isinstance(hop, int) and hop > n_fft:
        problems.append(f"hop_length = {hop} is larger than n_fft = {n_fft}")
    if problems:
        raise ModelError(f"{path}: invalid denoiser config: " + "; ".join(problems))


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """A `nuwave.inference.options.DTYPES` name -> the torch dtype; float16 only on a GPU (CPUs lack its kernels)."""
    if name not in DTYPES:
        raise ModelError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPES)}")
    if name == "float16" and device.type == "cpu":
        raise ModelError("--dtype float16 needs a GPU; use bfloat16 on a CPU")
    return getattr(torch, name)


def load_pipeline(name_or_path, device: str = "auto", dtype: str = DEFAULT_DTYPE) -> NuWavePipeline:
    """Load a shipped model by name (`nuwave.checkpoints`) or a `save_pretrained` folder onto `device`, the
    denoiser in `dtype`, with one-line errors for missing or corrupt folders."""
    from diffusers.utils import logging as diffusers_logging

    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    path = Path(checkpoints.resolve(name_or_path))
    if not path.is_dir():
        shipped = ", ".join(checkpoints.shipped_names())
        raise ModelError(f"{name_or_path}: no such model folder, nor a shipped model ({shipped})")
    if not (path / "model_index.json").is_file():
        raise ModelError(f"{path}: not a nuwave model folder (no model_index.json)")
    check_denoiser_config(path / "denoiser" / "config.json")
    # diffusers shows a bar while it loads the components; keep this load quiet without changing the setting
    # for the rest of the process.
    bars_were_on = diffusers_logging.is_progress_bar_enabled()
    diffusers_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():  # newer diffusers call `torch_dtype` `dtype`; the old name works in all
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            pipe = NuWavePipeline.from_pretrained(str(path), torch_dtype=torch_dtype)
    except Exception as error:  # diffusers raises many kinds for a broken folder; all mean the same here
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"{path}: corrupt or incompatible model folder ({reason[:200]})") from None
    finally:
        if bars_were_on:
            diffusers_logging.enable_progress_bar()
    if not isinstance(pipe, NuWavePipeline) or not isinstance(pipe.denoiser, NuWaveDenoiser):
        raise ModelError(f"{path}: not a nuwave model folder")
    return pipe.to(torch_device)
