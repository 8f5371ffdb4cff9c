"""Shared fixtures: tiny randomly initialised models and synthetic audio (no trained checkpoint needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models import NuWaveDenoiser
from nuwave.models.schedule import make_sampler


def tiny_denoiser(seed: int = 0) -> NuWaveDenoiser:
    """A small denoiser with every weight random (the zero-initialised output layers too), so it does change audio."""
    torch.manual_seed(seed)
    model = NuWaveDenoiser(channels=32, num_blocks=2, expansion=2, embedding_dim=32, tilt_db_per_octave=7.0,
                           envelope_bands=8, envelope_channels=16, envelope_blocks=1)
    with torch.no_grad():
        for layer in (model.output_projection, model.input_skip, model.final_modulation, model.envelope.head):
            layer.weight.normal_(0.0, 0.05)
    for block in model.blocks:
        with torch.no_grad():
            block.modulation.weight.normal_(0.0, 0.05)
    return model.eval()


@pytest.fixture
def tiny_pipeline() -> NuWavePipeline:
    return NuWavePipeline(denoiser=tiny_denoiser(), scheduler=make_sampler())


def tone_mix(sample_rate: int, seconds: float, seed: int = 0, channels: int | None = None) -> np.ndarray:
    """Harmonic tones plus a little noise, band-limited by construction to below 0.45 * sample_rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(sample_rate * seconds))) / sample_rate
    signal = sum(0.1 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in (220.0, 660.0, 1500.0, 3100.0))
    signal = signal + 0.01 * rng.standard_normal(t.size)
    if channels is None:
        return signal.astype(np.float32)
    return np.stack([signal * (0.5 + 0.25 * c) for c in range(channels)]).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A saved tiny pipeline folder, as `--model` takes it."""
    folder = tmp_path_factory.mktemp("model") / "tiny"
    NuWavePipeline(denoiser=tiny_denoiser(), scheduler=make_sampler()).save_pretrained(folder)
    return folder


def band_power_db(audio: np.ndarray, rate: int, low: float, high: float) -> float:
    """The mean power (dB) of `(T,)` audio's spectrum in `[low, high)` Hz."""
    audio = np.asarray(audio).ravel()
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / rate)
    return 10 * np.log10(spectrum[(freqs >= low) & (freqs < high)].mean() + 1e-30)


def band_error_db(output: np.ndarray, source: np.ndarray, rate: int, low: float, high: float) -> float:
    """How far `output` differs from `source` in `[low, high)` Hz, in dB against `source`'s power there."""
    output, source = np.asarray(output), np.asarray(source)
    return band_power_db(output - source, rate, low, high) - band_power_db(source, rate, low, high)


@pytest.fixture(scope="session")
def script():
    """Loads a module of `scripts/` by its name (they are entry points, not a package): `script("snr_breakdown")`.
    `scripts/` goes on the import path, as running a script puts it, for the scripts that import one another."""
    folder = Path(__file__).resolve().parents[1] / "scripts"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
