"""Training: exact resume, two gloo processes under `accelerate launch`, data split, config, export."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from nuwave.cli.train import train_command
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.training.config import TrainConfig
from nuwave.training.data import SourceFile, split_files
from tests.conftest import tone_mix

TINY = ["--channels", "16", "--num-blocks", "1", "--batch-size", "2", "--segment-seconds", "0.2",
        "--warmup-steps", "2", "--save-every", "100", "--validate-every", "3", "--validation-segments", "2",
        "--validation-steps", "2", "--log-every", "1", "--num-workers", "0", "--codec-probability", "0.3"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    for index in range(5):
        rate = 44100 if index == 4 else 48000
        audio = tone_mix(rate, 1.0, seed=index) + 0.02 * rng.standard_normal(rate).astype(np.float32)
        sf.write(str(folder / f"clip{index}.flac"), np.stack([audio, 0.7 * audio], 1) if index % 2 else audio, rate)
    return folder


def train(*args):
    result = CliRunner().invoke(train_command, [*map(str, args)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def weights(folder):
    return load_file(str(folder))


def assert_same_state(a, b, where="state"):
    """Nested dicts, lists and tensors equal element for element (`repr` abbreviates tensors of over 1,000)."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{index}]")
    else:
        assert a == b, where


def test_resume_continues_exactly(tmp_path, corpus, script):
    common = ["--data", corpus, *TINY, "--max-steps", "6"]
    train(*common, "--run-dir", tmp_path / "straight")
    train(*common, "--run-dir", tmp_path / "resumed", "--stop-at", "3")
    assert not (tmp_path / "resumed" / "export").exists()
    train(*common, "--run-dir", tmp_path / "resumed", "--resume")
    for name in ["state/step_00000006/model.safetensors", "export/denoiser/diffusion_pytorch_model.safetensors"]:
        a, b = weights(tmp_path / "straight" / name), weights(tmp_path / "resumed" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for name in ["optimizer.bin", "custom_checkpoint_0.pkl"]:  # optimizer and EMA state
        a = torch.load(tmp_path / "straight" / "state" / "step_00000006" / name, weights_only=False)
        b = torch.load(tmp_path / "resumed" / "state" / "step_00000006" / name, weights_only=False)
        assert_same_state(a, b)
    config = json.loads((tmp_path / "resumed" / "config.json").read_text())
    assert config["max_steps"] == 6 and config["channels"] == 16
    logged = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "loss/diffusion" in r] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in logged if "val/lsd" in r] == [3, 6]
    # scripts/bench_train.py reads the speed the run logged last
    speed = script("bench_train").logged_speed(tmp_path / "resumed" / "metrics.jsonl")
    assert speed == [r["speed/segments_per_s"] for r in logged if "speed/segments_per_s" in r][-1] and speed > 0
    # resuming a finished run trains nothing, and leaves the audit of the invocation that trained
    audit = (tmp_path / "resumed" / "ranks" / "rank_0.json").read_text()
    assert json.loads(audit)["segments"] == 3 * 2
    train(*common, "--run-dir", tmp_path / "resumed", "--resume")
    assert (tmp_path / "resumed" / "ranks" / "rank_0.json").read_text() == audit
    assert (tmp_path / "resumed" / "metrics.jsonl").read_text().count("loss/diffusion") == 6


def test_export_loads_and_upsamples(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "2", "--run-dir", tmp_path / "run")
    pipe = NuWavePipeline.from_pretrained(tmp_path / "run" / "export")
    out = pipe(tone_mix(16000, 0.3), 16000, num_inference_steps=2).audios
    assert out.shape == (14400,) and np.isfinite(out).all()
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert len(split["validation"]) == 1 and len(split["train"]) == 4
    assert not set(split["train"]) & set(split["validation"])


def test_new_models_get_the_denoiser_defaults_fine_tuning_keeps_or_sets_the_tilt(tmp_path, corpus):
    from nuwave.models.denoiser import NuWaveDenoiser

    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "new")
    trained = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser.config
    default = NuWaveDenoiser().config  # what scripts/model_stats.py and bench_upsample.py measure
    for name in ("tilt_db_per_octave", "envelope_bands", "n_fft", "hop_length", "expansion", "embedding_dim"):
        assert trained[name] == default[name], name
    assert (trained.channels, trained.num_blocks) == (16, 1)  # as TINY asks
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "flat", "--tilt-db-per-octave", "0")
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "kept", "--init-from",
          tmp_path / "flat" / "export")
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "moved", "--init-from",
          tmp_path / "flat" / "export", "--tilt-db-per-octave", "5")
    tilts = [NuWavePipeline.from_pretrained(tmp_path / name / "export").denoiser.config.tilt_db_per_octave
             for name in ("flat", "kept", "moved")]
    assert tilts == [0.0, 0.0, 5.0]


def test_two_processes_hold_the_same_weights_and_see_different_data(tmp_path, corpus):
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "nuwave.cli.train",
               "--data", str(corpus), *TINY, "--max-steps", "3", "--run-dir", str(tmp_path / "run")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / "run" / "ranks" / f"rank_{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    assert ranks[0]["segments"] == ranks[1]["segments"] == 6
    assert not set(ranks[0]["first_indices"]) & set(ranks[1]["first_indices"])
    assert (tmp_path / "run" / "export" / "model_index.json").is_file()


def test_split_is_by_file_deterministic_and_never_empty():
    files = [SourceFile(f"/data/{name}.wav") for name in "abcdefghijklmnopqrst"]
    train_a, val_a = split_files(files, 0.1, seed=0)
    train_b, val_b = split_files(list(reversed(files)), 0.1, seed=0)
    assert {f.path for f in val_a} == {f.path for f in val_b} and len(val_a) == 2
    assert len(train_a) + len(val_a) == 20 and not {f.path for f in train_a} & {f.path for f in val_a}
    assert len(split_files(files[:2], 0.01, seed=0)[1]) == 1


def test_config_ranges_json_round_trip_and_cli_errors(tmp_path, corpus):
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(data=["x"], learning_rate=5.0)
    with pytest.raises(ValueError, match="min_cutoff_hz"):
        TrainConfig(data=["x"], min_cutoff_hz=9000, max_cutoff_hz=8000)
    config = TrainConfig(data=["x"], batch_size=7)
    config.save(tmp_path / "c.json")
    assert TrainConfig.load(tmp_path / "c.json", max_steps=9) == TrainConfig(data=["x"], batch_size=7, max_steps=9)
    result = CliRunner().invoke(train_command, ["--data", str(corpus), "--batch-size", "0"])
    assert result.exit_code == 2 and "--batch-size" in result.output
    result = CliRunner().invoke(train_command, ["--data", str(corpus), "--mixed-precision", "fp8"])
    assert result.exit_code == 2


def test_balance_by_entries_gives_every_data_entry_an_equal_share(tmp_path):
    from nuwave.audio.degrade import DegradationRange
    from nuwave.training.data import CachedFile, SegmentDataset

    rate, rng = 8000, np.random.default_rng(0)
    files = []
    for name, seconds, entry in (("long", 9.0, 0), ("short_a", 0.5, 1), ("short_b", 0.5, 1)):
        path = tmp_path / f"{name}.npy"
        np.save(path, (0.1 * rng.standard_normal((1, int(seconds * rate)))).astype(np.float32) + entry)
        files.append(CachedFile(path, 1, int(seconds * rate), rate / 2, rate / 2, entry))
    ranges = DegradationRange(1000.0, 3000.0, 0.0)

    def share_of_second_entry(balance):
        data = SegmentDataset(files, rate, 400, 200, 0, ranges, -120.0, 0.0, balance)
        # entry 1's audio sits on a +1 offset (then scaled by the random gain): its mean is clearly positive
        return np.mean([float(data[i]["target"].mean()) > 0.05 for i in range(len(data))])

    assert share_of_second_entry("length") < 0.25
    assert 0.35 < share_of_second_entry("entries") < 0.65


def test_lossless_manifest_files_are_trusted_to_be_empty_above_their_own_nyquist(tmp_path, corpus):
    from nuwave.training.data import AudioCache, index_sources, prepare_files

    manifest = tmp_path / "files.jsonl"
    manifest.write_text(
        json.dumps({"path": str(corpus / "clip4.flac"), "lossless": True}) + "\n"  # a 44.1 kHz file
        # lossy: the band above is the codec's
        + json.dumps({"path": str(corpus / "clip4.flac"), "trusted_hz": 17000.0}) + "\n"
    )
    lossless, lossy = prepare_files(index_sources([str(manifest)]), AudioCache(tmp_path / "cache", 48000, "channels"))
    assert (lossless.trusted_hz, lossless.content_hz) == (24000.0, 22050.0)
    assert (lossy.trusted_hz, lossy.content_hz) == (17000.0, 17000.0)


def test_the_sharp_cache_keeps_a_44k_recording_to_its_top(tmp_path):
    # soxr takes a 44.1 kHz recording's band from 20.5 kHz off on its way to the model's rate, and a lossless file's
    # emptiness up there is trusted, so a model trained on it learns to stop there; `--target-resampler sharp` keeps
    # the band to 21.5 kHz, `band-limited` to 22.05 kHz.
    from nuwave.training.data import AudioCache

    rate = 44100
    t = np.arange(rate) / rate
    audio = (0.3 * np.sin(2 * np.pi * 21200 * t)).astype(np.float32)
    path = tmp_path / "top.flac"
    sf.write(path, audio, rate)
    levels = {}
    for resampler in ("soxr", "sharp", "band-limited"):
        cache = AudioCache(tmp_path / "cache", 48000, "channels", resampler)
        cached, source_rate = cache.prepare(SourceFile(str(path), lossless=True))
        out = np.load(cached)[0]
        assert source_rate == rate and out.shape[-1] == 48000
        levels[resampler] = 20 * np.log10(np.sqrt(2 * np.mean(out[6000:-6000] ** 2)) / 0.3)
    assert abs(levels["sharp"]) < 0.1 and abs(levels["band-limited"]) < 0.1 and levels["soxr"] < -6  # own files
    with pytest.raises(ValueError, match="resampler"):
        AudioCache(tmp_path / "cache", 48000, "channels", "linear")


def test_pauses_hold_digital_silence_or_room_tone_within_the_content():
    from nuwave.training.data import ROOM_TONE_DB, with_pauses

    rate = 48000
    steady = np.full(36000, 0.5, np.float32)  # never quiet by itself
    kinds = set()
    for seed in range(40):
        out = with_pauses(steady, rate, 16000.0, np.random.default_rng(seed))
        np.testing.assert_array_equal(out, with_pauses(steady, rate, 16000.0, np.random.default_rng(seed)))
        # the same draws on silence leave the room tone alone (or nothing)
        tone = with_pauses(np.zeros_like(steady), rate, 16000.0, np.random.default_rng(seed))
        muted = np.abs(out - tone) < 1e-6  # where the recording is faded out completely
        assert out.shape == steady.shape and out.dtype == np.float32
        assert muted.sum() >= 0.05 * rate / 2  # at least half of the shortest pause lies in the segment
        if not tone.any():
            kinds.add("silence")
            assert (out == 0).sum() >= 0.05 * rate / 2  # digital silence: exact zeros
        else:
            kinds.add("room tone")
            level = 20 * np.log10(np.sqrt(np.mean(tone.astype(np.float64) ** 2)))
            assert ROOM_TONE_DB[0] - 0.1 < level < ROOM_TONE_DB[1] + 0.1
            spectrum = np.abs(np.fft.rfft(tone)) ** 2
            freqs = np.fft.rfftfreq(tone.size, 1 / rate)
            assert spectrum[freqs > 16100].sum() < 1e-6 * spectrum.sum()  # nothing above the file's content
    assert kinds == {"silence", "room tone"}


def test_stereo_files_give_left_right_mid_and_side_examples(tmp_path):
    from nuwave.audio.degrade import DegradationRange
    from nuwave.training.data import AudioCache, SegmentDataset, SourceFile, prepare_files

    left = tone_mix(48000, 0.5)
    right = tone_mix(48000, 0.5, seed=7)
    sf.write(str(tmp_path / "s.wav"), np.stack([left, right], 1), 48000, subtype="FLOAT")
    files = prepare_files([SourceFile(str(tmp_path / "s.wav"))], AudioCache(tmp_path / "cache", 48000, "channels"))
    dataset = SegmentDataset(files, 48000, 24000, 200, 0, DegradationRange(codec_probability=0.0), -120.0, 0.0)
    candidates = {"left": left, "right": right, "mid": (left + right) * np.sqrt(0.5),
                  "side": (left - right) * np.sqrt(0.5)}
    seen = set()
    for index in range(200):
        target = dataset[index]["target"][0].numpy()
        for name, signal in candidates.items():
            if np.allclose(target, signal[: target.size], atol=1e-5):
                seen.add(name)
    assert seen == set(candidates)


def test_eq_tilt_changes_training_targets_but_never_validation_segments(tmp_path):
    from nuwave.training.config import TrainConfig
    from nuwave.training.data import AudioCache, SourceFile, prepare_files
    from nuwave.training.loop import segments

    sf.write(str(tmp_path / "m.wav"), tone_mix(48000, 1.0), 48000, subtype="FLOAT")
    files = prepare_files([SourceFile(str(tmp_path / "m.wav"))], AudioCache(tmp_path / "cache", 48000, "channels"))
    plain = TrainConfig(data=[str(tmp_path / "m.wav")], run_dir=str(tmp_path / "run"), pause_probability=0.0)
    tilted = TrainConfig(data=[str(tmp_path / "m.wav")], run_dir=str(tmp_path / "run"), pause_probability=0.0,
                         eq_tilt_db=6.0)
    for index in range(4):
        a = segments(plain, files, 48000, 4, 0)[index]["target"]
        b = segments(tilted, files, 48000, 4, 0)[index]["target"]
        assert not torch.allclose(a, b, atol=1e-4)  # a tilt up to 6 dB per octave changes the band above 2-8 kHz
        for seed in (0, 1):
            torch.testing.assert_close(segments(plain, files, 48000, 4, seed, tilt=False)[index]["target"],
                                       segments(tilted, files, 48000, 4, seed, tilt=False)[index]["target"])


def test_fine_tuning_a_model_without_an_envelope_adds_one_and_keeps_the_rest(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "old", "--envelope-bands", "0")
    # a folder written before the envelope options existed: its config does not name them at all
    config_path = tmp_path / "old" / "export" / "denoiser" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({k: v for k, v in config.items() if not k.startswith("envelope")}))
    old = NuWavePipeline.from_pretrained(tmp_path / "old" / "export").denoiser
    assert old.envelope is None
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "grown", "--init-from",
          tmp_path / "old" / "export", "--envelope-bands", "16", "--learning-rate", "1e-7", "--ema-decay", "1.0")
    grown = NuWavePipeline.from_pretrained(tmp_path / "grown" / "export").denoiser
    assert grown.config.envelope_bands == 16 and grown.envelope is not None
    saved = json.loads((tmp_path / "grown" / "export" / "denoiser" / "config.json").read_text())
    assert saved["envelope_bands"] == 16
    kept = grown.state_dict()
    for name, tensor in old.state_dict().items():
        torch.testing.assert_close(kept[name], tensor)


def test_training_only_the_envelope_leaves_the_diffusion_untouched(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "base")
    train("--data", corpus, *TINY, "--max-steps", "2", "--run-dir", tmp_path / "envelope", "--init-from",
          tmp_path / "base" / "export", "--train-only", "envelope", "--learning-rate", "1e-2", "--ema-decay", "0")
    before = NuWavePipeline.from_pretrained(tmp_path / "base" / "export").denoiser.state_dict()
    after = NuWavePipeline.from_pretrained(tmp_path / "envelope" / "export").denoiser.state_dict()
    assert before.keys() == after.keys()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and all(name.startswith("envelope") for name in changed)
    logged = [json.loads(line) for line in (tmp_path / "envelope" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged if "loss/envelope" in r] == [1, 2]
    assert not any("loss/diffusion" in r for r in logged)
    result = CliRunner().invoke(train_command, [*map(str, ["--data", corpus, *TINY, "--max-steps", "1", "--run-dir",
                                                           tmp_path / "none", "--envelope-bands", "0",
                                                           "--train-only", "envelope"])])
    assert result.exit_code != 0 and "envelope predictor" in str(result.exception) + result.output


def test_envelope_loss_holds_frames_and_the_segment_power():
    from nuwave.training.loss import envelope_loss, mean_power_log

    target = torch.tensor([[[0.0, -2.0], [-1.0, -1.0]]])  # (1 item, 2 bands, 2 frames), bels
    mask, trusted = torch.ones(1, 2), torch.ones(1)
    assert float(envelope_loss(target, target, mask, trusted)) == 0.0
    # a constant 0.5-bel error: 0.5 frame by frame and 0.5 over the segment
    assert float(envelope_loss(target + 0.5, target, mask, trusted)) == pytest.approx(1.0)
    # band 0 predicted at its frames' mean log power: right on average in bels, but its power over the segment,
    # log10((1 + 0.01) / 2) = -0.297, is 0.703 bels above the prediction
    predicted = torch.tensor([[[-1.0, -1.0], [-1.0, -1.0]]])
    assert float(mean_power_log(target[0, 0])) == pytest.approx(np.log10(0.505))
    assert float(envelope_loss(predicted, target, mask, trusted)) == pytest.approx((1.0 + 0.703) / 2, abs=1e-3)
    # bands above the trusted band, or under the cutoff (the mask), do not count
    assert float(envelope_loss(predicted, target, torch.tensor([[0.0, 1.0]]), trusted)) == 0.0
    assert float(envelope_loss(predicted, target, mask, torch.tensor([0.3]))) == pytest.approx(1.703, abs=1e-3)
    # the segment term weighed three times: band 0 (1 + 3 x 0.703), band 1 (0 + 0)
    assert float(envelope_loss(predicted, target, mask, trusted, segment_weight=3.0)) == pytest.approx(
        (1.0 + 3 * 0.703) / 2, abs=1e-3)


def test_envelope_dilation_new_models_old_folders_and_fine_tuning(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "new")
    new = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser
    assert new.config.envelope_dilation == 2
    assert [block.depthwise.dilation[0] for block in new.envelope.blocks] == [1, 2, 4]
    # a folder written before the option existed: undilated, as it was trained
    config_path = tmp_path / "new" / "export" / "denoiser" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({k: v for k, v in config.items() if k != "envelope_dilation"}))
    old = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser
    assert [block.depthwise.dilation[0] for block in old.envelope.blocks] == [1, 1, 1]
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "dilated", "--init-from",
          tmp_path / "new" / "export", "--envelope-dilation", "3", "--learning-rate", "1e-7", "--ema-decay", "1.0")
    dilated = NuWavePipeline.from_pretrained(tmp_path / "dilated" / "export").denoiser
    assert [block.depthwise.dilation[0] for block in dilated.envelope.blocks] == [1, 3, 9]
    kept = dilated.state_dict()
    for name, tensor in old.state_dict().items():
        torch.testing.assert_close(kept[name], tensor)


def test_old_folders_keep_their_anchor_and_fine_tuning_changes_it(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "new")
    new = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser
    assert new.config.envelope_anchor == "blend"
    # a folder written before the option existed: anchored at the frame's mean, as it was trained
    config_path = tmp_path / "new" / "export" / "denoiser" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({k: v for k, v in config.items() if k != "envelope_anchor"}))
    old = NuWavePipeline.from_pretrained(tmp_path / "new" / "export").denoiser
    assert old.config.envelope_anchor == "frame-mean" and old.envelope.top_share is None
    tuned = {}
    for anchor in ("blend", "input-top"):
        train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / anchor, "--init-from",
              tmp_path / "new" / "export", "--envelope-anchor", anchor, "--learning-rate", "1e-7", "--ema-decay", "1.0")
        tuned[anchor] = NuWavePipeline.from_pretrained(tmp_path / anchor / "export").denoiser
        assert tuned[anchor].config.envelope_anchor == anchor
    # "blend" starts as "frame-mean" (its share of the top at 0): every weight kept
    blend = tuned["blend"].state_dict()
    assert blend["envelope.top_share.weight"].abs().max() < 1e-5
    for name, tensor in old.state_dict().items():
        torch.testing.assert_close(blend[name], tensor)
    # "input-top" measures from another level: its head starts again from zero, the rest is kept
    top = tuned["input-top"].state_dict()
    for name, tensor in old.state_dict().items():
        if name.startswith("envelope.head."):
            assert top[name].abs().max() < 1e-5
        else:
            torch.testing.assert_close(top[name], tensor)


def test_a_run_s_validation_is_reproduced_after_it_from_its_config(tmp_path, corpus):
    from nuwave.training.loop import validation_segments, validation_values

    train("--data", corpus, *TINY, "--max-steps", "3", "--run-dir", tmp_path / "run")
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in logged if "val/lsd" in r][-1]  # the EMA weights at the last step: the export's
    config = TrainConfig.load(tmp_path / "run" / "config.json")
    pipe = NuWavePipeline.from_pretrained(tmp_path / "run" / "export")
    pipe.set_progress_bar_config(disable=True)
    dataset = validation_segments(config, pipe.model_rate)
    values = np.array([validation_values(pipe, dataset, index, config) for index in range(len(dataset))])
    assert values[:, 0].mean() == pytest.approx(last["val/loss"], rel=1e-5)
    assert values[:, 1].mean() == pytest.approx(last["val/lsd"], rel=1e-5)


def test_fine_tuning_keeps_the_phase_readout_while_it_fits(tmp_path, corpus):
    from nuwave.models import NuWaveDenoiser
    from nuwave.models.readout import PhaseReadout

    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "base")
    base = tmp_path / "base" / "export"
    assert NuWavePipeline.from_pretrained(base).phase_readout is None
    denoiser = NuWavePipeline.from_pretrained(base).denoiser
    readout = PhaseReadout(bands=denoiser.config.envelope_bands, channels=8, min_cutoff_hz=6000.0,
                           max_cutoff_hz=8000.0)
    assert readout.fits(denoiser)
    assert not readout.fits(NuWaveDenoiser(channels=16, num_blocks=1, envelope_bands=8))
    assert not PhaseReadout(bands=denoiser.config.envelope_bands, n_fft=2048).fits(denoiser)
    pipe = NuWavePipeline.from_pretrained(base)
    pipe.register_modules(phase_readout=readout)
    pipe.save_pretrained(tmp_path / "with_readout")
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "tuned", "--init-from",
          tmp_path / "with_readout")
    kept = NuWavePipeline.from_pretrained(tmp_path / "tuned" / "export").phase_readout
    assert kept is not None and kept.config.max_cutoff_hz == 8000.0
    for name, tensor in readout.state_dict().items():
        torch.testing.assert_close(kept.state_dict()[name], tensor)


def test_adapt_presets_a_brief_envelope_fit_over_a_config_file_that_given_options_override(tmp_path):
    from nuwave.cli.train import make_config
    from nuwave.training.config import ADAPTATION

    none = {field.name: None for field in dataclasses.fields(TrainConfig)}
    config = make_config(None, {**none, "data": ("voice",)}, adapt="nuwave-base")
    assert config.init_from == "nuwave-base" and config.data == ["voice"]
    assert all(getattr(config, name) == value for name, value in ADAPTATION.items())
    assert config.train_only == "envelope" and config.validation_fraction == 0.0
    given = make_config(None, {**none, "data": ("voice",), "max_steps": 40}, adapt="nuwave-base")
    assert given.max_steps == 40 and given.learning_rate == ADAPTATION["learning_rate"]
    TrainConfig(data=["x"], max_steps=60, batch_size=8).save(tmp_path / "c.json")
    from_file = make_config(tmp_path / "c.json", {**none, "batch_size": 4}, adapt="nuwave-base")
    assert (from_file.data, from_file.max_steps, from_file.batch_size) == (["x"], ADAPTATION["max_steps"], 4)
    assert from_file.init_from == "nuwave-base"
    assert make_config(None, {**none, "data": ("voice",)}).train_only == "all"  # no preset without --adapt
    result = CliRunner().invoke(train_command, ["--adapt", "nuwave-base", "--init-from", "other", "--data", "voice"])
    assert result.exit_code == 2 and "two models" in result.output


def test_adapt_fits_only_the_envelope_of_the_model_it_names(tmp_path, corpus):
    train("--data", corpus, *TINY, "--max-steps", "1", "--run-dir", tmp_path / "base")
    train("--adapt", tmp_path / "base" / "export", "--data", corpus, "--run-dir", tmp_path / "fitted",
          "--max-steps", "2", "--batch-size", "2", "--segment-seconds", "0.2", "--num-workers", "0",
          "--learning-rate", "1e-2", "--validation-steps", "2", "--validation-segments", "2")
    config = json.loads((tmp_path / "fitted" / "config.json").read_text())
    assert config["init_from"] == str(tmp_path / "base" / "export") and config["train_only"] == "envelope"
    assert config["ema_decay"] == 0.95 and config["validation_fraction"] == 0.0
    before = NuWavePipeline.from_pretrained(tmp_path / "base" / "export").denoiser.state_dict()
    after = NuWavePipeline.from_pretrained(tmp_path / "fitted" / "export").denoiser.state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and all(name.startswith("envelope") for name in changed)
