"""`nuwave upsample` over 320 seeded generated inputs in one process: valid and mutated WAV, FLAC, OGG and MP3
files, truncations, garbage with audio extensions, 1-sample files, digital silence, DC, NaN / Inf, 8 to 64-bit
samples, 8 kHz to 192 kHz and odd rates, 1 to 32 channels. Each run must end in a valid output (the right rate,
length and channel count, finite samples) or in a clean one-line error with a non-zero exit, with no traceback
and no file left behind."""

import io

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from nuwave import cli
from nuwave.audio.files import LOSSY_FORMATS

CASES = 320
RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 96000, 192000, 12345, 7999, 200000)
# (format, extension, subtypes, most channels)
FORMATS = (("WAV", ".wav", ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"), 32),
           ("FLAC", ".flac", ("PCM_S8", "PCM_16", "PCM_24"), 8),
           ("OGG", ".ogg", ("VORBIS",), 8),
           ("MP3", ".mp3", ("MPEG_LAYER_III",), 2))
KINDS = ("valid", "valid", "valid", "silence", "dc", "one_sample", "nan", "truncated", "flipped", "garbage")


def content(rng: np.random.Generator, kind: str, frames: int, channels: int) -> np.ndarray:
    if kind == "silence":
        return np.zeros((frames, channels))
    if kind == "dc":
        return np.full((frames, channels), rng.uniform(-0.9, 0.9))
    audio = rng.uniform(-0.5, 0.5) * rng.standard_normal((frames, channels)) * rng.uniform(0.01, 1)
    if kind == "nan":
        audio[rng.integers(frames), rng.integers(channels)] = rng.choice([np.nan, np.inf, -np.inf])
    return audio


def make_input(seed: int, folder) -> tuple:
    """Write input `seed` into `folder`; returns its path and a description."""
    rng = np.random.default_rng(seed)
    kind = KINDS[seed % len(KINDS)]
    container, extension, subtypes, most = FORMATS[rng.integers(len(FORMATS))]
    path = folder / f"in{seed}{extension}"
    if kind == "garbage":
        path.write_bytes(rng.integers(0, 256, int(rng.integers(0, 5000)), dtype=np.uint8).tobytes())
        return path, kind
    if kind == "nan":
        container, extension, subtypes, most = FORMATS[0]
        path = path.with_suffix(".wav")
        subtypes = ("FLOAT", "DOUBLE")
    rate = int(rng.choice(RATES))
    if container in ("OGG", "MP3"):
        rate = int(rng.choice((8000, 16000, 22050, 44100, 48000)))
    channels = int(rng.integers(1, most + 1)) if rng.random() < 0.3 else int(rng.integers(1, min(most, 2) + 1))
    frames = 1 if kind == "one_sample" else int(rng.integers(int(0.04 * rate), int(0.15 * rate)))
    subtype = str(rng.choice(subtypes))
    buffer = io.BytesIO()
    try:
        sf.write(buffer, content(rng, kind, frames, channels), rate, format=container, subtype=subtype)
    except (sf.LibsndfileError, ValueError, RuntimeError):  # a combination libsndfile cannot write: garbage then
        path.write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
        return path, "unwritable"
    data = bytearray(buffer.getvalue())
    if kind == "truncated":
        data = data[: int(rng.integers(1, len(data)))]
    elif kind == "flipped":
        for where in rng.integers(0, len(data), int(rng.integers(1, 40))):
            data[where] = int(rng.integers(256))
    path.write_bytes(bytes(data))
    return path, f"{kind} {container} {subtype} {rate} Hz {channels} ch {frames} frames"


@pytest.fixture(scope="module")
def fuzz_model(tmp_path_factory):
    """The smallest working model (short STFT, one block): the fuzz test is about files, not about quality."""
    import torch

    from nuwave.inference.pipeline import NuWavePipeline
    from nuwave.models import NuWaveDenoiser
    from nuwave.models.schedule import make_sampler

    torch.manual_seed(0)
    denoiser = NuWaveDenoiser(n_fft=256, hop_length=64, channels=16, num_blocks=1, expansion=1, embedding_dim=16,
                              tilt_db_per_octave=7.0, envelope_bands=4, envelope_channels=8, envelope_blocks=1)
    with torch.no_grad():
        for layer in (denoiser.output_projection, denoiser.input_skip, denoiser.envelope.head):
            layer.weight.normal_(0.0, 0.05)
    folder = tmp_path_factory.mktemp("fuzz") / "model"
    NuWavePipeline(denoiser=denoiser.eval(), scheduler=make_sampler()).save_pretrained(folder)
    return folder


def test_fuzz_every_input_ends_in_a_valid_output_or_a_clean_error(tmp_path, fuzz_model):
    tiny_model_dir = fuzz_model
    runner = CliRunner()
    (tmp_path / "in").mkdir()
    outcomes = {"output": 0, "error": 0}
    for seed in range(CASES):
        source, description = make_input(seed, tmp_path / "in")
        out = tmp_path / "out" / f"{seed}"
        result = runner.invoke(cli.main, ["upsample", str(source), "-o", str(out / "o.wav"), "--model",
                                          str(tiny_model_dir), "--steps", "1", "-q", "--subtype", "FLOAT"])
        context = f"case {seed} ({description}): exit {result.exit_code}\n{result.output}"
        assert "Traceback" not in result.output, context
        assert result.exception is None or isinstance(result.exception, SystemExit), context
        left = sorted(p.name for p in out.rglob("*")) if out.exists() else []
        if result.exit_code == 0:
            outcomes["output"] += 1
            assert left == ["o.wav"], context
            info_in = sf.info(str(source))
            # A lossy file's header only estimates its length: the output follows what it decodes to (never padded)
            frames = sf.read(str(source))[0].shape[0] if info_in.format in LOSSY_FORMATS else info_in.frames
            audio, rate = sf.read(str(out / "o.wav"), dtype="float32", always_2d=True)
            assert rate == 48000, context
            assert audio.shape == (round(frames * 48000 / info_in.samplerate), info_in.channels), context
            assert np.isfinite(audio).all(), context
        else:
            outcomes["error"] += 1
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("nuwave: error: ")]
            assert len(errors) == 1 and str(source) in errors[0], context
            assert all(line in errors or line.startswith("done ") for line in lines), context
            assert left == [], context
    assert outcomes["output"] >= CASES // 4 and outcomes["error"] >= CASES // 4, outcomes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fuzz_inputs_are_a_function_of_the_seed(tmp_path, seed):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = make_input(seed, tmp_path / "a")
    second, _ = make_input(seed, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
