"""Where an MP3's encoder cuts, read from its frames and measured on LAME, against where the content itself ends:
a recording that ends under the encoder's cut keeps its own band (resampled only), one the encoder cut has a band
generated above the cut."""

import io

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy.signal import lfilter

from nuwave import cli
from nuwave.audio.cutoff import SpectrumAccumulator, cliff_from_spectrum
from nuwave.audio.degrade import lowpass
from nuwave.audio.dsp import resample
from nuwave.audio.encoder import (
    ENCODER_MARGIN_HZ,
    content_ends_under_cut,
    encoder_cut,
    lame_cut,
    lame_level,
    lame_vbr_cut,
    read_stream,
)
from nuwave.inference.upsample import OWN_BAND_HZ, UpsampleSettings, treatment, upsample_file


def mp3_bytes(audio: np.ndarray, rate: int, kbps: int | None, version: float = 1) -> bytes:
    """`(T, C)` audio as an MP3 at a constant `kbps` (None: variable bit rate)."""
    buffer = io.BytesIO()
    options = ({"compression_level": lame_level(kbps, version), "bitrate_mode": "CONSTANT"} if kbps
               else {"compression_level": 0.3, "bitrate_mode": "VARIABLE"})
    with sf.SoundFile(buffer, "w", rate, audio.shape[1], format="MP3", subtype="MPEG_LAYER_III", **options) as out:
        out.write(audio)
    return buffer.getvalue()


def noise(rate: int, seconds: float = 2.0, channels: int = 1, seed: int = 0) -> np.ndarray:
    return (0.05 * np.random.default_rng(seed).standard_normal((int(rate * seconds), channels))).astype(np.float32)


def falling_noise(rate: int, seconds: float = 2.0) -> np.ndarray:
    """`(T, 1)` noise through a one-pole low-pass: a top that falls as speech's and music's do (a flat top as loud
    as white noise's spreads the encoder's noise further above a cliff)."""
    return (0.5 * lfilter([1.0], [1.0, -0.9], noise(rate, seconds), axis=0)).astype(np.float32)


@pytest.mark.parametrize("rate, channels, kbps", [(44100, 1, 128), (48000, 2, 192), (22050, 2, 64)])
def test_the_frames_state_rate_channels_and_a_constant_bit_rate(rate, channels, kbps):
    version = 1 if rate >= 32000 else 2
    stream = read_stream(mp3_bytes(noise(rate, channels=channels), rate, kbps, version))
    assert (stream.sample_rate, stream.channels, stream.kbps, stream.version) == (rate, channels, kbps, version)


def test_an_id3_tag_is_skipped_and_a_variable_bit_rate_or_garbage_says_nothing():
    coded = mp3_bytes(noise(44100), 44100, 128)
    size = 3000  # an ID3v2 tag with a 3000-byte body, its size written 7 bits a byte
    tag = b"ID3\x04\x00\x00" + bytes([(size >> 21) & 127, (size >> 14) & 127, (size >> 7) & 127, size & 127])
    assert read_stream(tag + bytes(size) + coded).kbps == 128
    assert read_stream(mp3_bytes(noise(44100, 4.0), 44100, None)).kbps is None  # variable
    assert read_stream(bytes(range(256)) * 20) is None
    assert read_stream(b"\xff\xfb\x90\xc4" + bytes(100)) is None  # one sync pattern is not a run of frames


def test_the_encoder_cut_is_read_after_a_large_tag(tmp_path):
    size = 200_000  # cover art
    tag = b"ID3\x04\x00\x00" + bytes([(size >> 21) & 127, (size >> 14) & 127, (size >> 7) & 127, size & 127])
    (tmp_path / "tagged.mp3").write_bytes(tag + bytes(size) + mp3_bytes(noise(44100), 44100, 128))
    assert encoder_cut(tmp_path / "tagged.mp3") == lame_cut(44100, 1, 128)
    assert encoder_cut(tmp_path / "missing.mp3") is None


def test_a_variable_bit_rate_is_measured_at_the_quality_its_xing_header_states(tmp_path):
    coded = mp3_bytes(noise(44100, 4.0), 44100, None)  # libsndfile's level 0.3: LAME -V 3
    assert read_stream(coded).vbr_quality == 3
    (tmp_path / "vbr.mp3").write_bytes(coded)
    assert encoder_cut(tmp_path / "vbr.mp3") == lame_vbr_cut(44100, 1, 3)
    assert lame_vbr_cut(44100, 1, 0) == 22050.0  # -V 0 low-passes nothing
    assert lame_vbr_cut(44100, 1, 2) < lame_vbr_cut(44100, 1, 1) < 22050.0
    at = coded.find(b"Xing")  # ffmpeg writes 0 as the quality: unknown
    flags = int.from_bytes(coded[at + 4: at + 8], "big")
    field = at + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4)
    (tmp_path / "ffmpeg.mp3").write_bytes(coded[:field] + bytes(4) + coded[field + 4:])
    assert read_stream(coded[:field] + bytes(4) + coded[field + 4:]).vbr_quality is None
    assert encoder_cut(tmp_path / "ffmpeg.mp3") is None


def test_a_best_quality_vbr_mp3_of_a_recording_that_ends_at_20khz_keeps_its_own_band(tmp_path, tiny_pipeline):
    rate = 44100
    ended = lowpass(falling_noise(rate)[:, 0], rate, 20000.0, "cheby1", 10, zero_phase=True)[:, None]
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, "w", rate, 1, format="MP3", subtype="MPEG_LAYER_III", compression_level=0.0,
                      bitrate_mode="VARIABLE") as out:
        out.write(ended)
    (tmp_path / "v0.mp3").write_bytes(buffer.getvalue())
    result = upsample_file(tiny_pipeline, tmp_path / "v0.mp3", tmp_path / "v0.wav",
                           UpsampleSettings(target_rate=48000, num_inference_steps=1))
    assert result.full_band and result.encoder_cut == 22050.0


def test_lame_cuts_where_its_bit_rate_and_channels_say():
    mono, stereo = lame_cut(44100, 1, 128), lame_cut(44100, 2, 128)
    assert 19500 < mono < 20800  # LAME's table: 20.5 kHz for mono at 128 kbit/s
    assert 16200 < stereo < 17300  # 17 kHz for joint stereo
    assert lame_cut(44100, 2, 64) < stereo
    assert lame_cut(44100, 3, 128) is None and lame_cut(44000, 1, 128) is None


def test_the_foot_of_a_cliff_lies_at_or_above_its_edge():
    audio = lowpass(noise(48000, 3.0)[:, 0], 48000, 15000.0, "cheby1", 10)
    spectrum = SpectrumAccumulator()
    spectrum.update(audio[None])
    edge, foot = cliff_from_spectrum(spectrum.spectrum(), 48000)
    assert 14500 < edge < foot < edge + 1000
    assert cliff_from_spectrum(np.ones(2049), 48000) == (24000.0, 24000.0)


def test_the_cliff_is_the_recordings_own_only_clearly_under_the_encoders_cut():
    assert content_ends_under_cut(19300.0, 20200.0)
    assert not content_ends_under_cut(20200.0 - ENCODER_MARGIN_HZ + 50, 20200.0)
    assert not content_ends_under_cut(15000.0, None)
    auto = UpsampleSettings(target_rate=48000)
    own = treatment(19100.0, 19300.0, True, 20200.0, auto, 48000)
    assert own.full_band and not own.codec_cut and own.encoder_cut == 20200.0
    assert treatment(20000.0, 20150.0, True, 20200.0, auto, 48000).codec_cut  # the encoder's cut
    assert treatment(8000.0, 8200.0, True, 20200.0, auto, 48000).codec_cut  # under OWN_BAND_HZ: still the codec's
    assert OWN_BAND_HZ > 16000  # no reduced sample rate ends there
    assert treatment(19100.0, 19300.0, True, None, auto, 48000).codec_cut  # unknown encoder: as before
    forced = treatment(19100.0, 19300.0, True, 20200.0, UpsampleSettings(target_rate=48000, codec_cut=True), 48000)
    assert forced.codec_cut and not forced.full_band
    assert not treatment(19100.0, 19300.0, False, None, auto, 48000).codec_cut  # lossless: a rate's cutoff


def test_an_mp3_of_a_recording_that_ends_at_19khz_keeps_its_own_band(tmp_path, tiny_pipeline, tiny_model_dir):
    rate = 44100
    full = falling_noise(rate)
    ended = lowpass(full[:, 0], rate, 19000.0, "cheby1", 10, zero_phase=True)[:, None]
    (tmp_path / "ended.mp3").write_bytes(mp3_bytes(ended, rate, 128))
    (tmp_path / "full.mp3").write_bytes(mp3_bytes(full, rate, 128))
    assert encoder_cut(tmp_path / "ended.mp3") == pytest.approx(lame_cut(rate, 1, 128))
    settings = UpsampleSettings(target_rate=48000, num_inference_steps=1)
    own = upsample_file(tiny_pipeline, tmp_path / "ended.mp3", tmp_path / "ended.wav", settings)
    assert own.full_band and own.encoder_cut is not None and own.windows == 0
    decoded, _ = sf.read(str(tmp_path / "ended.mp3"), dtype="float32")
    written, _ = sf.read(str(tmp_path / "ended.wav"), dtype="float32")
    np.testing.assert_allclose(written, resample(decoded, rate, 48000, written.shape[0]), atol=1e-4)
    cut = upsample_file(tiny_pipeline, tmp_path / "full.mp3", tmp_path / "full.wav", settings)
    assert cut.codec_cut and not cut.full_band and cut.encoder_cut is None
    result = CliRunner().invoke(cli.main, ["upsample", str(tmp_path / "ended.mp3"), "-o", str(tmp_path / "c.wav"),
                                           "--model", str(tiny_model_dir), "--steps", "1"])
    assert result.exit_code == 0, result.output
    assert "the recording's own: its encoder cuts at 20.2 kHz" in result.stderr
    assert "its own full band, resampled only" in result.stderr
