"""`nuwave upsample` on small generated files: formats, layouts, folders, bad inputs, interrupted writes."""

import os

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from nuwave import cli
from nuwave.audio.degrade import lowpass
from tests.conftest import tone_mix


def run(*args: str):
    return CliRunner().invoke(cli.main, ["upsample", *map(str, args)])


def upsample(model, *args):
    return run(*args, "--model", model, "--steps", "2")


def write(path, rate=16000, seconds=0.5, channels=1, **kwargs):
    audio = tone_mix(rate, seconds, channels=None if channels == 1 else channels)
    sf.write(str(path), audio.T if channels > 1 else audio, rate, **kwargs)
    return path


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("nuwave: error:")]


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("pcm16.wav", {"subtype": "PCM_16"}),
        ("pcm24.wav", {"subtype": "PCM_24"}),
        ("pcm32.wav", {"subtype": "PCM_32"}),
        ("u8.wav", {"subtype": "PCM_U8"}),
        ("float.wav", {"subtype": "FLOAT"}),
        ("lossless.flac", {}),
        ("vorbis.ogg", {"format": "OGG", "subtype": "VORBIS"}),
        ("opus.opus", {"format": "OGG", "subtype": "OPUS"}),
        ("lossy.mp3", {"format": "MP3"}),
    ],
)
def test_every_input_format(tmp_path, tiny_model_dir, name, kwargs):
    source = write(tmp_path / name, **kwargs)
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav")
    assert result.exit_code == 0, result.output
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_24")
    assert info.frames == round(sf.info(str(source)).frames * 48000 / 16000)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 32000, 44100, 48000])
def test_any_input_rate(tmp_path, tiny_model_dir, rate):
    source = write(tmp_path / "in.wav", rate=rate, seconds=0.3)
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.flac")
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "out.flac")).frames == round(sf.info(str(source)).frames * 48000 / rate)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_channel_count_is_kept(tmp_path, tiny_model_dir, channels):
    source = write(tmp_path / "in.wav", channels=channels)
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav", "--subtype", "FLOAT")
    assert result.exit_code == 0, result.output
    out, rate = sf.read(str(tmp_path / "out.wav"), always_2d=True)
    assert out.shape == (24000, channels) and rate == 48000


def test_stereo_channel_modes(tmp_path, tiny_model_dir):
    mono = tone_mix(16000, 0.5)
    sf.write(str(tmp_path / "in.wav"), np.stack([mono, mono], axis=1), 16000, subtype="FLOAT")
    upsample(tiny_model_dir, tmp_path / "in.wav", "-o", tmp_path / "same.wav", "--subtype", "FLOAT")
    upsample(tiny_model_dir, tmp_path / "in.wav", "-o", tmp_path / "diff.wav", "--subtype", "FLOAT",
             "--channel-mode", "independent")
    same, _ = sf.read(str(tmp_path / "same.wav"))
    diff, _ = sf.read(str(tmp_path / "diff.wav"))
    np.testing.assert_allclose(same[:, 0], same[:, 1], atol=1e-6)
    assert np.abs(diff[:, 0] - diff[:, 1]).max() > 1e-4


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_44100_output_and_subtypes(tmp_path, tiny_model_dir, subtype):
    source = write(tmp_path / "in.wav", rate=22050)
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav", "--sample-rate", "44100",
                      "--subtype", subtype)
    assert result.exit_code == 0, result.output
    info = sf.info(str(tmp_path / "out.wav"))
    assert (info.samplerate, info.frames, info.subtype) == (44100, 22050, subtype)


def test_detected_and_given_cutoff_are_reported(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    noise = lowpass((0.1 * rng.standard_normal(24000)).astype(np.float32), 48000, 8000.0, order=10)
    sf.write(str(tmp_path / "in.wav"), noise, 48000, subtype="FLOAT")
    detected = upsample(tiny_model_dir, tmp_path / "in.wav", "-o", tmp_path / "a.wav")
    assert detected.exit_code == 0, detected.output
    line = next(line for line in detected.stderr.splitlines() if "(detected)" in line)
    found = line.split("cutoff ")[1].split(" kHz")[0]
    assert 7.5 <= float(found) <= 8.6 and f"generated {found}-24.0 kHz" in line
    given = upsample(tiny_model_dir, tmp_path / "in.wav", "-o", tmp_path / "b.wav", "--cutoff", "6000")
    assert given.exit_code == 0 and "cutoff 6.0 kHz (given); generated 6.0-24.0 kHz" in given.stderr


def test_full_band_input_is_only_resampled(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "in.wav"), (0.1 * rng.standard_normal(24000)).astype(np.float32), 48000, subtype="FLOAT")
    result = upsample(tiny_model_dir, tmp_path / "in.wav", "-o", tmp_path / "out.wav", "--subtype", "FLOAT")
    assert result.exit_code == 0 and "full band, resampled only" in result.stderr
    out, _ = sf.read(str(tmp_path / "out.wav"), dtype="float32")
    source, _ = sf.read(str(tmp_path / "in.wav"), dtype="float32")
    np.testing.assert_allclose(out, source, atol=1e-6)


def test_folder_with_a_bad_file_mirrors_the_tree_and_reports(tmp_path, tiny_model_dir):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write(tmp_path / "in" / "a.wav")
    write(tmp_path / "in" / "sub" / "b.flac")
    (tmp_path / "in" / "sub" / "bad.wav").write_text("this is not audio")
    result = upsample(tiny_model_dir, tmp_path / "in", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert (tmp_path / "out" / "a.wav").is_file() and (tmp_path / "out" / "sub" / "b.wav").is_file()
    assert not (tmp_path / "out" / "sub" / "bad.wav").exists()
    assert error_lines(result) == [f"nuwave: error: {tmp_path / 'in' / 'sub' / 'bad.wav'}: not a readable audio "
                                   "file (Format not recognised.)"]
    assert "done 2, skipped 0, failed 1" in result.stderr
    again = upsample(tiny_model_dir, tmp_path / "in" / "a.wav", tmp_path / "in" / "sub" / "b.flac",
                     "-o", tmp_path / "out" / "sub", "--format", "wav")
    assert again.exit_code == 0 and "done 1, skipped 1, failed 0" in again.stderr


def test_existing_output_is_skipped_then_overwritten(tmp_path, tiny_model_dir):
    source = write(tmp_path / "in.wav")
    (tmp_path / "out.wav").write_bytes(b"keep me")
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav")
    assert result.exit_code == 0 and (tmp_path / "out.wav").read_bytes() == b"keep me"
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav", "--overwrite")
    assert result.exit_code == 0 and sf.info(str(tmp_path / "out.wav")).samplerate == 48000


def truncated_wav(path):
    write(path, seconds=1.0, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def nan_wav(path):
    audio = tone_mix(16000, 0.5)
    audio[100] = np.nan
    sf.write(str(path), audio, 16000, subtype="FLOAT")
    return path


@pytest.mark.parametrize(
    "make,problem",
    [
        (lambda p: p / "missing.wav", "no such file or folder"),
        (lambda p: (p / "text.wav").write_text("not audio") and p / "text.wav", "not a readable audio file"),
        (lambda p: (p / "empty.wav").write_bytes(b"") or p / "empty.wav", "empty file"),
        (lambda p: truncated_wav(p / "cut.wav"), "truncated"),
        (lambda p: write(p / "short.wav", seconds=0.01), "too short"),
        (lambda p: nan_wav(p / "nan.wav"), "NaN or infinite"),
    ],
)
def test_bad_inputs_get_a_one_line_error(tmp_path, tiny_model_dir, make, problem):
    source = make(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav")
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1 and str(source) in lines[0] and problem in lines[0], result.stderr
    assert not (tmp_path / "out.wav").exists()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_output_equal_to_input_is_refused(tmp_path, tiny_model_dir):
    source = write(tmp_path / "in.wav")
    before = source.read_bytes()
    result = upsample(tiny_model_dir, source, "-o", source, "--overwrite")
    assert result.exit_code == 1 and "is an input of this run and would be overwritten" in error_lines(result)[0]
    assert source.read_bytes() == before


@pytest.mark.parametrize("where", ["file_parent", "proc"])
def test_unwritable_output_folder(tmp_path, tiny_model_dir, where):
    source = write(tmp_path / "in.wav")
    if where == "file_parent":
        (tmp_path / "plain").write_text("a file, not a folder")
        target = tmp_path / "plain" / "out.wav"
    else:
        target = "/proc/nuwave-test/out.wav"
    result = upsample(tiny_model_dir, source, "-o", target)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1 and "cannot write to this folder" in error_lines(result)[0]


def test_cutoff_above_nyquist_is_refused(tmp_path, tiny_model_dir):
    source = write(tmp_path / "in.wav")
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out.wav", "--cutoff", "9000")
    assert result.exit_code == 1 and "above the input's Nyquist 8000 Hz" in error_lines(result)[0]
    assert str(source) in error_lines(result)[0]


@pytest.mark.parametrize("args", [["--sampler", "nope"], ["--steps", "0"], ["--steps", "1001"],
                                  ["--temperature", "1.5"], ["--temperature", "-0.5"], ["--top-hedge-db", "-1"],
                                  ["--top-hedge-db", "nan"]])
def test_bad_sampler_options_fail_at_parse_time(tmp_path, tiny_model_dir, args):
    source = write(tmp_path / "in.wav")
    result = run(source, "-o", tmp_path / "out.wav", "--model", tiny_model_dir, *args)
    assert result.exit_code == 2 and "Invalid value" in result.stderr
    assert not (tmp_path / "out.wav").exists()


def test_temperature_reaches_the_sampler(tmp_path, tiny_model_dir):
    source = write(tmp_path / "in.wav")
    outputs = {}
    for value in ("0", "1"):
        result = run(source, "-o", tmp_path / f"t{value}.wav", "--model", tiny_model_dir, "--steps", "3",
                     "--temperature", value)
        assert result.exit_code == 0, result.stderr
        outputs[value] = sf.read(str(tmp_path / f"t{value}.wav"))[0]
    assert outputs["0"].shape == outputs["1"].shape and not np.allclose(outputs["0"], outputs["1"], atol=1e-3)


def test_missing_or_corrupt_model_folder(tmp_path, tiny_model_dir):
    source = write(tmp_path / "in.wav")
    result = run(source, "-o", tmp_path / "out.wav", "--model", tmp_path / "nowhere")
    assert result.exit_code == 1 and error_lines(result) == [
        f"nuwave: error: {tmp_path / 'nowhere'}: no such model folder, nor a shipped model (nuwave-base)"]
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in tiny_model_dir.rglob("*"):
        target = broken / item.relative_to(tiny_model_dir)
        target.mkdir(exist_ok=True) if item.is_dir() else target.write_bytes(item.read_bytes()[:100])
    result = run(source, "-o", tmp_path / "out.wav", "--model", broken)
    assert result.exit_code == 1 and len(error_lines(result)) == 1
    assert "corrupt or incompatible model folder" in error_lines(result)[0]
    assert not (tmp_path / "out.wav").exists()


def test_interrupted_write_leaves_no_output(tmp_path, tiny_model_dir, monkeypatch):
    """Ctrl-C in the middle of a file: neither the final name nor a temporary file remains."""
    from nuwave.inference.pipeline import NuWavePipeline

    source = write(tmp_path / "in.wav", seconds=4.0)
    original, calls = NuWavePipeline.__call__, []

    def interrupt_on_second_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NuWavePipeline, "__call__", interrupt_on_second_batch)
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "out" / "x.wav", "--chunk-seconds", "1",
                      "--batch-size", "1")
    assert result.exit_code == 130 and len(calls) == 2
    assert os.listdir(tmp_path / "out") == []


def test_top_option(tmp_path, tiny_model_dir):
    source = write(tmp_path / "in.wav")
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "a.wav", "--top", "12000")
    assert result.exit_code == 0 and "generated 8.0-12.0 kHz" in result.stderr
    result = upsample(tiny_model_dir, source, "-o", tmp_path / "b.wav", "--top", "6000")
    assert result.exit_code == 0 and "content already reaches --top, resampled only" in result.stderr


def test_top_hedge_option_reaches_the_pipeline(tmp_path, tiny_model_dir):
    """The default hedges the band above 20 kHz; `--top-hedge-db 0` leaves it as the model made it, and with
    `--top` the hedge has nothing to do."""
    source = write(tmp_path / "in.wav", rate=16000, seconds=0.5)
    outputs = {}
    for name, options in (("default", ()), ("none", ("--top-hedge-db", "0")), ("top", ("--top", "22000")),
                          ("top-none", ("--top", "22000", "--top-hedge-db", "0"))):
        result = upsample(tiny_model_dir, source, "-o", tmp_path / f"{name}.wav", "--subtype", "FLOAT", *options)
        assert result.exit_code == 0, result.output
        outputs[name], _ = sf.read(str(tmp_path / f"{name}.wav"))
    assert not np.allclose(outputs["default"], outputs["none"])
    np.testing.assert_array_equal(outputs["top"], outputs["top-none"])
    said = upsample(tiny_model_dir, source, "-o", tmp_path / "said.wav").stderr
    assert "generated 8.0-24.0 kHz, 10 dB down above 20 kHz (--top-hedge-db)" in said


def test_phase_lock_options(tmp_path, tiny_model_dir):
    """Without an option a WAV (a rate's cutoff) is phase-locked: the same file as with `--phase-lock`, another
    than with `--no-phase-lock`."""
    source = write(tmp_path / "in.wav", rate=16000, seconds=0.5)
    outputs = {}
    for name, options in (("default", ()), ("on", ("--phase-lock",)), ("off", ("--no-phase-lock",))):
        result = upsample(tiny_model_dir, source, "-o", tmp_path / f"{name}.wav", "--subtype", "FLOAT", *options)
        assert result.exit_code == 0, result.output
        outputs[name], _ = sf.read(str(tmp_path / f"{name}.wav"))
    np.testing.assert_array_equal(outputs["default"], outputs["on"])
    assert not np.allclose(outputs["default"], outputs["off"])


def test_the_command_line_loads_without_torch():
    """`nuwave --help` (and every command's parsing) must not pay for torch and diffusers: they load inside the
    commands."""
    import subprocess
    import sys

    code = "import sys, nuwave.cli; assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
