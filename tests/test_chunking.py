import numpy as np
import pytest
import torch

from nuwave.inference.chunking import ChunkPlan, OverlapAdd, crossfade_weights, positional_noise


@pytest.mark.parametrize("input_rate", [8000, 11025, 16000, 22050, 44100, 48000])
def test_windows_cover_the_file_and_fall_on_aligned_positions(input_rate):
    total = input_rate * 25 + 17
    plan = ChunkPlan.create(total, input_rate, (48000, 44100), 4.0, 0.5, model_rate=48000, model_frame=512)
    windows = list(plan.windows())
    assert windows[0][0] == 0 and windows[-1][1] == total
    for (start, end), (next_start, _) in zip(windows, windows[1:]):
        assert end - next_start == plan.overlap
        assert plan.at_rate(next_start, 48000) % 512 == 0
        plan.at_rate(next_start, 44100)  # whole samples at the output rate too
    assert all(end - start > plan.overlap for start, end in windows)


def test_short_file_is_one_window():
    plan = ChunkPlan.create(1000, 16000, (48000,), 10.0, 0.5)
    assert list(plan.windows()) == [(0, 1000)]


def test_crossfade_sums_to_one_and_overlap_add_reproduces_a_signal():
    weights = crossfade_weights(64)
    np.testing.assert_allclose(weights + weights[::-1], 1.0, atol=1e-6)
    signal = np.random.default_rng(0).standard_normal((2, 1000)).astype(np.float32)
    joiner, out = OverlapAdd(50), []
    starts = [0, 250, 500, 750]
    for index, start in enumerate(starts):
        end = min(start + 300, 1000) if index < 3 else 1000
        out.append(joiner.push(signal[:, start:end], last=index == 3))
    np.testing.assert_allclose(np.concatenate(out, axis=-1), signal, atol=1e-6)


def test_positional_noise_depends_only_on_position():
    whole = positional_noise(5, 0, 200_000, channels=2)
    part = positional_noise(5, 123_456, 70_000, channels=2)
    torch.testing.assert_close(part, whole[:, 123_456:193_456], rtol=0, atol=0)
    assert not torch.equal(positional_noise(6, 0, 1000), whole[:1, :1000])
