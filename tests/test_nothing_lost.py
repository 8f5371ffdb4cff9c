"""Nothing lost and no traceback: output collisions, signals, full disks, unreadable places, odd channel counts,
broken model folders, absurd samples, truncated files, bad options, decoder chatter."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from nuwave.training.config import TrainConfig
from tests.test_cli_upsample import error_lines, upsample, write


def files_in(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_two_inputs_with_one_output_name_are_refused_before_anything_is_written(tmp_path, tiny_model_dir):
    (tmp_path / "s").mkdir()
    write(tmp_path / "s" / "a.wav")
    write(tmp_path / "s" / "a.flac")
    before = files_in(tmp_path)
    for inputs in ([tmp_path / "s" / "a.wav", tmp_path / "s" / "a.flac"], [tmp_path / "s"]):
        result = upsample(tiny_model_dir, *inputs, "-o", tmp_path / "out")
        assert result.exit_code == 1
        assert "would all be written to" in error_lines(result)[0] and "Traceback" not in result.output
        assert files_in(tmp_path) == before


def test_an_output_that_is_another_input_is_refused_even_with_overwrite(tmp_path, tiny_model_dir):
    (tmp_path / "in").mkdir()
    write(tmp_path / "in" / "a.flac")
    write(tmp_path / "in" / "a.wav", rate=22050)
    before = files_in(tmp_path)
    result = upsample(tiny_model_dir, tmp_path / "in" / "a.flac", tmp_path / "in" / "a.wav", "-o", tmp_path / "in",
                      "--overwrite")
    assert result.exit_code == 1
    assert any("a.wav: is an input of this run" in line for line in error_lines(result))
    assert files_in(tmp_path) == before


def run_cli_subprocess(args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "nuwave.cli", "upsample", *map(str, args)],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_killed_run_leaves_nothing_and_the_next_run_cleans_up(tmp_path, tiny_model_dir, how):
    source = write(tmp_path / "long.wav", seconds=30.0)
    out = tmp_path / "out"
    process = run_cli_subprocess([source, "-o", out / "long.wav", "--model", tiny_model_dir, "--steps", "50",
                                  "--chunk-seconds", "1"])
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob(".*.part")):
        time.sleep(0.05)
    assert list(out.glob(".*.part")), "the run never started writing"
    process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    if how == "sigterm":
        assert process.returncode == 143 and "interrupted while writing" in stderr and "Traceback" not in stderr
        assert not list(out.iterdir())
    else:
        assert len(list(out.glob(".*.part"))) == 1
        result = upsample(tiny_model_dir, write(tmp_path / "short.wav"), "-o", out / "short.wav")
        assert result.exit_code == 0, result.output
        assert [p.name for p in out.iterdir()] == ["short.wav"]


def test_a_full_disk_is_a_one_line_error_and_a_folder_run_goes_on(tmp_path, tiny_model_dir, monkeypatch):
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        write(tmp_path / "in" / f"{name}.wav")
    real_write = sf.SoundFile.write
    calls = {"count": 0}

    def failing_write(self, data):
        calls["count"] += 1
        # b.wav, or its temporary `.b.nuwave-<pid>-<random>.part` (whose random part may itself end in "b")
        if os.path.basename(self.name) == "b.wav" or os.path.basename(self.name).startswith(".b."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    result = upsample(tiny_model_dir, tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1 and "b.wav: could not be written (No space left on device)" in lines[0]
    assert "done 2, skipped 0, failed 1" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "c.wav"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="needs root to mount a tmpfs")
def test_a_really_full_tmpfs(tmp_path, tiny_model_dir):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("mount is not permitted here")
    try:
        source = write(tmp_path / "in.wav", seconds=2.0)
        result = upsample(tiny_model_dir, source, "-o", disk / "out.wav", "--subtype", "FLOAT")
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "could not be written (no space left on the disk)" in error_lines(result)[0]
        assert not list(disk.iterdir())
    finally:
        subprocess.run(["umount", str(disk)])


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters every folder")
def test_a_folder_that_cannot_be_entered(tmp_path, tiny_model_dir):
    locked = tmp_path / "locked"
    locked.mkdir()
    write(locked / "a.wav")
    locked.chmod(0)
    try:
        result = upsample(tiny_model_dir, locked / "a.wav", "-o", tmp_path / "out.wav")
        assert result.exit_code == 1 and "Traceback" not in result.output and str(locked / "a.wav") in result.stderr
    finally:
        locked.chmod(0o755)


def test_unreadable_input_and_unwritable_output_places(tmp_path, tiny_model_dir, monkeypatch):
    from pathlib import Path

    source = write(tmp_path / "in.wav")
    real_open = open

    def guarded_open(file, *args, **kwargs):
        if str(file) == str(source):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert error_lines(result) == [f"nuwave: error: {source}: cannot be read (Permission denied)"]
    monkeypatch.undo()
    long_name = tmp_path / ("x" * 300 + ".wav")
    result = upsample(tiny_model_dir, long_name, "-o", tmp_path / "out.wav")
    assert result.exit_code == 1 and "Traceback" not in result.output and len(error_lines(result)) >= 1
    result = upsample(tiny_model_dir, source, "-o", tmp_path / ("y" * 300 + ".wav"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "File name too long" in error_lines(result)[0]
    assert not [p for p in Path(tmp_path).iterdir() if p.name.startswith(".")]


def test_a_name_that_is_not_utf8_is_named_in_the_error(tmp_path, tiny_model_dir):
    name = os.fsdecode(b"bad\xff.wav")
    (tmp_path / name).write_text("not audio")
    result = upsample(tiny_model_dir, tmp_path / name, "-o", tmp_path / "out.wav")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "bad\\xff.wav: not a readable audio file" in error_lines(result)[0]  # the name's bytes, shown
    good = tmp_path / os.fsdecode(b"good\xff.wav")  # and such a name that is audio works
    write(tmp_path / "good.wav").rename(good)
    assert upsample(tiny_model_dir, good, "-o", tmp_path / "out.wav").exit_code == 0


def test_more_than_eight_channels_to_flac(tmp_path, tiny_model_dir):
    sf.write(str(tmp_path / "nine.wav"), np.random.default_rng(0).standard_normal((8000, 9)) * 0.05, 16000)
    result = upsample(tiny_model_dir, tmp_path / "nine.wav", "-o", tmp_path / "out.flac")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "FLAC holds at most 8 channels and the input has 9" in error_lines(result)[0]
    assert not (tmp_path / "out.flac").exists()
    assert upsample(tiny_model_dir, tmp_path / "nine.wav", "-o", tmp_path / "out.wav").exit_code == 0


@pytest.mark.parametrize("change,problem", [
    ({"hop_length": 0}, "hop_length = 0 is not an integer from 1"),
    ({"sample_rate": "fast"}, "sample_rate = 'fast'"),
    ({"sample_rate": 0}, "sample_rate = 0"),
    ({"sample_rate": 8000}, "sample_rate = 8000"),
    ({"tilt_db_per_octave": float("nan")}, "tilt_db_per_octave = nan is not a finite number"),
    ({"hop_length": 4096}, "hop_length = 4096 is larger than n_fft"),
    ({"envelope_anchor": "loudest"}, "envelope_anchor = 'loudest' is not one of blend, input-top, frame-mean"),
])
def test_a_broken_model_config_is_refused_with_its_path(tmp_path, tiny_model_dir, change, problem):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    config_path = model / "denoiser" / "config.json"
    config = json.loads(config_path.read_text())
    config.update(change)
    config_path.write_text(json.dumps(config))
    result = upsample(model, write(tmp_path / "in.wav"), "-o", tmp_path / "out.wav")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(config_path) in error_lines(result)[0] and problem in error_lines(result)[0]
    assert not (tmp_path / "out.wav").exists()


def test_train_without_data_says_so():
    from click.testing import CliRunner

    from nuwave.cli.train import train_command

    assert TrainConfig().data == [] and TrainConfig().data is not TrainConfig().data
    result = CliRunner().invoke(train_command, ["--max-steps", "1"])
    assert result.exit_code == 2 and "no training data" in result.output
    with pytest.raises(ValueError, match="not a finite number"):
        TrainConfig(learning_rate=float("nan"))


@pytest.mark.parametrize("samples,subtype", [
    (lambda rng: rng.standard_normal(8000) * 1e20, "FLOAT"),
    (lambda rng: np.concatenate([0.1 * rng.standard_normal(8000), [1e30, -1e30, 1e30]]), "FLOAT"),
])
def test_absurd_float_samples_are_refused(tmp_path, tiny_model_dir, samples, subtype):
    sf.write(str(tmp_path / "loud.wav"), samples(np.random.default_rng(0)).astype(np.float32), 16000, subtype=subtype)
    for out_subtype in ("FLOAT", "PCM_24"):
        result = upsample(tiny_model_dir, tmp_path / "loud.wav", "-o", tmp_path / "out.wav", "--subtype", out_subtype)
        assert result.exit_code == 1 and "a corrupt float file" in error_lines(result)[0]
        assert not (tmp_path / "out.wav").exists()


def test_a_truncated_mp3_is_reported_not_padded(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "f.mp3"), rng.uniform(-0.3, 0.3, (26460, 2)), 44100, format="MP3")
    (tmp_path / "t.mp3").write_bytes((tmp_path / "f.mp3").read_bytes()[:3000])
    result = upsample(tiny_model_dir, tmp_path / "t.mp3", "-o", tmp_path / "o.wav")
    assert result.exit_code == 1 and "truncated" in error_lines(result)[0]
    assert not (tmp_path / "o.wav").exists()
    # the whole file is fine
    assert upsample(tiny_model_dir, tmp_path / "f.mp3", "-o", tmp_path / "whole.wav").exit_code == 0


def test_an_mp3_that_decodes_shorter_than_its_header_estimates_is_upsampled_whole(tmp_path, tiny_model_dir):
    """A constant-bit-rate MP3 at 22.05 kHz as libsndfile writes it: its length is estimated from its size and
    decodes about a hundred samples shorter. It is not truncated: the output follows what it decodes to."""
    noise = (0.05 * np.random.default_rng(0).standard_normal(20252)).astype(np.float32)
    sf.write(str(tmp_path / "in.mp3"), noise, 22050, format="MP3", subtype="MPEG_LAYER_III", compression_level=0.9,
             bitrate_mode="CONSTANT")
    decoded, _ = sf.read(str(tmp_path / "in.mp3"), dtype="float32")
    announced = sf.info(str(tmp_path / "in.mp3")).frames
    assert 0 < announced - decoded.shape[0] < 1000  # what this test is about
    result = upsample(tiny_model_dir, tmp_path / "in.mp3", "-o", tmp_path / "out.wav", "--steps", "1")
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "out.wav")).frames == round(decoded.shape[0] * 48000 / 22050)


@pytest.mark.parametrize("option,value", [("--temperature", "nan"), ("--chunk-seconds", "nan"),
                                          ("--cutoff", "1e-300"), ("--cutoff", "nan")])
def test_bad_numbers_fail_at_parse_time(tmp_path, tiny_model_dir, option, value):
    result = upsample(tiny_model_dir, write(tmp_path / "in.wav"), "-o", tmp_path / "out.wav", option, value)
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output
    assert not (tmp_path / "out.wav").exists()


def test_cuda_without_a_gpu_names_the_real_problem(tmp_path, tiny_model_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = upsample(tiny_model_dir, write(tmp_path / "in.wav"), "-o", tmp_path / "out.wav", "--device", "cuda")
    assert result.exit_code == 1
    assert error_lines(result) == ["nuwave: error: --device cuda was asked for, but no CUDA device is available"]


def test_decoder_chatter_stays_off_the_terminal(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "f.mp3"), rng.uniform(-0.3, 0.3, 26460), 44100, format="MP3")
    data = bytearray((tmp_path / "f.mp3").read_bytes())
    data[1200:1800] = rng.integers(0, 256, 600, dtype=np.uint8).tobytes()  # garbage inside the stream
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    process = subprocess.run([sys.executable, "-m", "nuwave.cli", "upsample", str(tmp_path / "bad.mp3"), "-o",
                              str(tmp_path / "o.wav"), "--model", str(tiny_model_dir), "--steps", "1", "-q"],
                             capture_output=True, text=True, timeout=120)
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert "Illegal Audio-MPEG-Header" not in process.stderr and "Note:" not in process.stderr
    assert all(line.startswith(("nuwave: error:", "done 0, skipped 0, failed 1")) for line in lines), process.stderr
    # the file does make the decoder talk when nothing holds it back
    plain = subprocess.run([sys.executable, "-c", f"import soundfile; soundfile.read({str(tmp_path / 'bad.mp3')!r})"],
                           capture_output=True, text=True, timeout=60)
    assert "Note:" in plain.stderr or "Illegal" in plain.stderr


@pytest.mark.parametrize("container", ["WAV", "WAVEX", "AIFF", "W64", "RF64"])
@pytest.mark.parametrize("subtype,channels,frames", [("PCM_16", 1, 1001), ("PCM_24", 2, 26460), ("FLOAT", 3, 777)])
def test_truncated_chunked_files_are_refused_and_whole_ones_read(tmp_path, container, subtype, channels, frames):
    from nuwave.audio.files import AudioError, read_audio

    audio = np.random.default_rng(frames).uniform(-0.3, 0.3, (frames, channels))
    whole = tmp_path / f"whole.{container.lower()}"
    sf.write(str(whole), audio, 44100, format=container, subtype=subtype)
    assert read_audio(whole)[0].shape == (channels, frames)
    cut = tmp_path / f"cut.{container.lower()}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size - 101])
    with pytest.raises(AudioError, match=f"truncated: the {container} header announces 101 more bytes"):
        read_audio(cut)
