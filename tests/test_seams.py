"""A long signal processed in chunks against the same signal processed whole: no seam at the boundaries."""

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy import signal

from nuwave.inference.loading import load_pipeline
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.inference.upsample import UpsampleSettings, upsample_file
from nuwave.models.schedule import make_sampler
from tests.conftest import tiny_denoiser, tone_mix


@pytest.fixture(scope="module")
def dilated_model_dir(tmp_path_factory):
    """The tiny model with the shipped envelope predictor's shape: 3 blocks dilated 1, 2, 4 (about 230 ms of
    context), their modulation random so that every block acts."""
    model = tiny_denoiser()
    rebuilt = type(model)(**{**{k: v for k, v in model.config.items() if not k.startswith("_")},
                             "envelope_blocks": 3, "envelope_dilation": 2})
    rebuilt.load_state_dict(model.state_dict(), strict=False)
    torch.manual_seed(1)
    with torch.no_grad():
        rebuilt.envelope.head.weight.normal_(0.0, 0.05)
        for block in rebuilt.envelope.blocks:
            block.modulation.weight.normal_(0.0, 0.05)
    folder = tmp_path_factory.mktemp("model") / "dilated"
    NuWavePipeline(denoiser=rebuilt.eval(), scheduler=make_sampler()).save_pretrained(folder)
    return folder


def high_band(audio: np.ndarray) -> np.ndarray:
    return signal.sosfiltfilt(signal.butter(8, 9000, "hp", fs=48000, output="sos"), audio)


@pytest.mark.parametrize("model", ["tiny_model_dir", "dilated_model_dir"])
def test_chunked_output_matches_whole_output_at_every_boundary(tmp_path, model, request):
    pipe = load_pipeline(request.getfixturevalue(model), "cpu")
    sf.write(str(tmp_path / "in.wav"), tone_mix(16000, 12.0), 16000, subtype="FLOAT")
    common = {"subtype": "FLOAT", "num_inference_steps": 4, "seed": 3}
    upsample_file(pipe, tmp_path / "in.wav", tmp_path / "whole.wav", UpsampleSettings(chunk_seconds=20, **common))
    result = upsample_file(
        pipe, tmp_path / "in.wav", tmp_path / "chunked.wav",
        UpsampleSettings(chunk_seconds=2.0, overlap_seconds=0.5, batch_size=3, **common),
    )
    assert result.windows >= 6
    whole, _ = sf.read(str(tmp_path / "whole.wav"))
    chunked, _ = sf.read(str(tmp_path / "chunked.wav"))
    assert whole.shape == chunked.shape == (576000,)
    # The generated band, where the seams would show: the same to within -60 dB overall ...
    reference, test = high_band(whole), high_band(chunked)
    assert 10 * np.log10(np.sum((test - reference) ** 2) / np.sum(reference**2)) < -60
    # ... and its level in every 50 ms window (boundaries included) within 0.05 dB of the whole-file run.
    frames = len(reference) // 2400 * 2400
    level = lambda x: 10 * np.log10(np.mean(x[:frames].reshape(-1, 2400) ** 2, axis=1))
    assert np.abs(level(test) - level(reference)).max() < 0.05


def test_chunked_stereo_matches_whole_with_the_phase_lock(tmp_path, tiny_model_dir):
    """Stereo as mid and side with the phase lock (the default for a WAV): each channel's excitation divides by its
    local power, which a chunk's edge cuts short; the crossfade hides it as it hides the rest."""
    pipe = load_pipeline(tiny_model_dir, "cpu")
    stereo = np.stack([tone_mix(16000, 6.0, seed=0), 0.5 * tone_mix(16000, 6.0, seed=1)])  # unrelated channels
    sf.write(str(tmp_path / "in.wav"), stereo.T, 16000, subtype="FLOAT")
    common = {"subtype": "FLOAT", "num_inference_steps": 2, "seed": 3, "phase_lock": True}
    upsample_file(pipe, tmp_path / "in.wav", tmp_path / "whole.wav", UpsampleSettings(chunk_seconds=20, **common))
    chunked = UpsampleSettings(chunk_seconds=2.0, overlap_seconds=0.5, batch_size=2, **common)
    assert upsample_file(pipe, tmp_path / "in.wav", tmp_path / "chunked.wav", chunked).windows >= 3
    whole, _ = sf.read(str(tmp_path / "whole.wav"))
    parts, _ = sf.read(str(tmp_path / "chunked.wav"))
    for channel in range(2):
        reference, test = high_band(whole[:, channel]), high_band(parts[:, channel])
        assert 10 * np.log10(np.sum((test - reference) ** 2) / np.sum(reference**2)) < -60


def test_chunked_channels_of_a_file_take_each_its_own_level(tmp_path, tiny_model_dir):
    """A file's channels not paired as mid and side (here with one shared noise) are brought to the working level
    each by its own RMS over the whole file (`Scan.levels`): a channel 60 dB under the other comes out, chunk by
    chunk, as the same channel upsampled alone as a mono file."""
    pipe = load_pipeline(tiny_model_dir, "cpu")
    stereo = np.stack([tone_mix(16000, 5.0, seed=0), 1e-3 * tone_mix(16000, 5.0, seed=1)])
    common = {"subtype": "FLOAT", "num_inference_steps": 2, "seed": 3, "chunk_seconds": 2.0, "overlap_seconds": 0.5,
              "channel_mode": "shared"}
    sf.write(str(tmp_path / "in.wav"), stereo.T, 16000, subtype="FLOAT")
    assert upsample_file(pipe, tmp_path / "in.wav", tmp_path / "out.wav", UpsampleSettings(**common)).windows >= 3
    both, _ = sf.read(str(tmp_path / "out.wav"))
    for channel in range(2):
        sf.write(str(tmp_path / f"in{channel}.wav"), stereo[channel], 16000, subtype="FLOAT")
        upsample_file(pipe, tmp_path / f"in{channel}.wav", tmp_path / f"out{channel}.wav", UpsampleSettings(**common))
        alone, _ = sf.read(str(tmp_path / f"out{channel}.wav"))
        assert np.abs(both[:, channel] - alone).max() <= 1e-4 * np.abs(alone).max()
