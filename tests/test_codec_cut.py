"""A lossy codec's cutoff: the generated band continues the input's top (its level per frame, read through the
encoder's holes), with the same numbers chunked or whole, chosen from the file's format by the command."""

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from nuwave import cli
from nuwave.audio.cutoff import TOP_HZ, top_slope
from nuwave.audio.degrade import lowpass
from nuwave.audio.dsp import HOLE_HOP, HOLE_N_FFT, MERGE_TRANSITION, RESAMPLER_TRANSITION, fill_codec_holes
from nuwave.inference.loading import load_pipeline
from nuwave.inference.upsample import UpsampleSettings, upsample_file
from nuwave.models.envelope import band_edges, codec_top_level, continuation_ceiling
from tests.conftest import band_error_db, band_power_db


def spectrum_with_slope(db_per_khz: float, rate: float = 48000.0, bins: int = 2049) -> np.ndarray:
    freqs = np.linspace(0.0, rate / 2, bins)
    return 10 ** (db_per_khz * freqs / 1000 / 10)


@pytest.mark.parametrize("slope", [-12.0, -3.0, 0.0])
def test_top_slope_measures_a_falling_spectrum_and_never_rises(slope):
    assert top_slope(spectrum_with_slope(slope), 48000, 16000.0) == pytest.approx(slope, abs=0.2)
    assert top_slope(spectrum_with_slope(+5.0), 48000, 16000.0) == 0.0  # a rising top says nothing of a fall
    assert top_slope(np.zeros(2049), 48000, 16000.0) == 0.0


def test_continuation_ceiling_continues_the_edge_level_at_the_slope():
    bins, frames, bands, rate = 513, 3, 8, 48000
    power = torch.ones(1, bins, frames)
    power[:, :, 1] = 100.0  # a frame 20 dB louder: its ceiling is 2 bels higher
    ceiling = continuation_ceiling(power, torch.tensor([0.5]), bands, rate, torch.tensor([-6.0]))
    edges = band_edges(bins, bands).float()
    centres = ((edges[:-1] + edges[1:] - 1) / 2 / (bins - 1) * rate / 2).numpy()
    start = 0.5 * (1 - RESAMPLER_TRANSITION) * rate / 2 - TOP_HZ / 2
    expected = -0.6 * np.clip(centres - start, 0, None) / 1000  # bels
    np.testing.assert_allclose(ceiling[0, :, 0].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose((ceiling[0, :, 1] - ceiling[0, :, 0]).numpy(), 2.0, atol=1e-5)


def fading_input(rate: int = 48000, seconds: float = 1.0) -> np.ndarray:
    """Noise whose content fades out steeply from 9 kHz and is cut at 12 kHz, as an MP3 of such a recording."""
    noise = np.random.default_rng(0).standard_normal(int(rate * seconds)).astype(np.float32) * 0.1
    faded = lowpass(noise, rate, 9000.0, "butter", 8)
    return lowpass(faded, rate, 12000.0, "cheby1", 10)


def loud_envelope(pipe):
    """`pipe` with an envelope predictor that asks for a band 60 dB over its anchor: whatever holds the band lower
    is the codec's ceiling."""
    with torch.no_grad():
        pipe.denoiser.envelope.head.bias.fill_(6.0)
    return pipe


def test_a_codec_cut_holds_the_band_at_the_level_of_the_input_top(tiny_pipeline):
    pipe, rate = loud_envelope(tiny_pipeline), 48000
    noise = np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 0.1
    audio = lowpass(noise, rate, 12000.0, "cheby1", 10)
    common = {"cutoff": 12000.0, "num_inference_steps": 2, "target_rate": rate}
    run = lambda **kwargs: pipe(audio, rate, generator=torch.Generator().manual_seed(0), **common, **kwargs).audios
    plain, level, falling = run(), run(codec_cut=True), run(codec_cut=True, top_slope=-6.0)
    top = band_power_db(audio, rate, 10500, 11500)
    assert band_power_db(plain, rate, 13000, 20000) > top + 10  # the loud envelope, unheld
    assert abs(band_power_db(level, rate, 13000, 20000) - top) < 2  # held at the top's level
    assert band_power_db(falling, rate, 16000, 20000) < band_power_db(level, rate, 16000, 20000) - 20


def test_a_codecs_top_is_read_once_its_holes_are_filled(tiny_pipeline):
    """An encoder short of bits drops its top for two granules of three: the band above the cut still comes out at
    the level of the recording's top, not at the holed input's (5 dB lower)."""
    pipe, rate = loud_envelope(tiny_pipeline), 48000
    noise = np.random.default_rng(5).standard_normal(rate).astype(np.float32) * 0.1
    audio = lowpass(noise, rate, 16000.0, "cheby1", 10)
    holed = carve(audio, [(12500.0, 16000.0, first, first + 20) for first in range(0, 200, 30)])
    assert band_power_db(holed, rate, 14000, 15600) < band_power_db(audio, rate, 14000, 15600) - 4
    out = pipe(holed, rate, target_rate=rate, cutoff=16000.0, codec_cut=True, num_inference_steps=2,
               generator=torch.Generator().manual_seed(0)).audios
    assert abs(band_power_db(out, rate, 17000, 22000) - band_power_db(audio, rate, 12000, 15000)) < 2.5


def test_codec_cut_chunked_matches_whole(tmp_path, tiny_model_dir):
    pipe = load_pipeline(tiny_model_dir, "cpu")
    pipe.set_progress_bar_config(disable=True)
    sf.write(str(tmp_path / "in.wav"), np.tile(fading_input(), 6), 48000, subtype="FLOAT")
    common = {"subtype": "FLOAT", "num_inference_steps": 2, "seed": 1, "codec_cut": True, "cutoff": 12000.0}
    upsample_file(pipe, tmp_path / "in.wav", tmp_path / "whole.wav", UpsampleSettings(chunk_seconds=20, **common))
    chunked = UpsampleSettings(chunk_seconds=2.0, overlap_seconds=0.5, batch_size=2, **common)
    assert upsample_file(pipe, tmp_path / "in.wav", tmp_path / "chunked.wav", chunked).windows >= 4
    whole, _ = sf.read(str(tmp_path / "whole.wav"))
    parts, _ = sf.read(str(tmp_path / "chunked.wav"))
    assert 10 * np.log10(np.sum((parts - whole) ** 2) / np.sum(whole**2)) < -60


def test_the_command_takes_an_mp3s_cutoff_as_a_codecs(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "in.mp3"), (0.1 * rng.standard_normal(44100)).astype(np.float32), 44100, format="MP3")
    sf.write(str(tmp_path / "in.wav"), fading_input(), 48000)

    def run(source, *options):
        result = CliRunner().invoke(cli.main, ["upsample", str(source), "-o", str(tmp_path / f"o{len(options)}.wav"),
                                               "--model", str(tiny_model_dir), "--steps", "1", "--overwrite",
                                               *options])
        assert result.exit_code == 0, result.output
        return result.stderr

    assert "(detected, a codec's)" in run(tmp_path / "in.mp3")
    assert "a codec's" not in run(tmp_path / "in.mp3", "--codec-cut", "no")
    assert "a codec's" not in run(tmp_path / "in.wav")
    assert "(detected, a codec's)" in run(tmp_path / "in.wav", "--codec-cut", "yes")


def test_a_codec_cut_keeps_the_input_up_to_the_cutoff(tiny_pipeline):
    """Under a rate's cutoff the resampler's transition band is handed over to the generated band; under a codec's
    the decoded input is exact up to its cut and is kept there."""
    noise = np.random.default_rng(1).standard_normal(48000).astype(np.float32) * 0.1
    audio = lowpass(noise, 48000, 12000.0, "cheby1", 10)  # full level up to the cut
    common = {"cutoff": 12000.0, "num_inference_steps": 2, "target_rate": 48000}
    plain = tiny_pipeline(audio, 48000, generator=torch.Generator().manual_seed(0), **common).audios
    cut = tiny_pipeline(audio, 48000, codec_cut=True, generator=torch.Generator().manual_seed(0), **common).audios
    low, high = (1 - 0.8 * MERGE_TRANSITION) * 12000.0, 12000.0 - 20  # inside the rate's transition band
    assert band_error_db(cut, audio, 48000, low, high) < -20  # the input itself
    assert band_error_db(plain, audio, 48000, low, high) > -10  # the generated band's share


def carve(audio: np.ndarray, regions, rate: int = 48000) -> np.ndarray:
    """`audio` with its STFT (the hole finder's) zeroed in each (low Hz, high Hz, first frame, last frame): an
    encoder's spectral holes."""
    window = torch.hann_window(HOLE_N_FFT)
    spec = torch.stft(torch.from_numpy(audio), HOLE_N_FFT, HOLE_HOP, window=window, return_complex=True)
    freqs = np.linspace(0, rate / 2, spec.shape[0])
    for low, high, first, last in regions:
        spec[torch.from_numpy((freqs >= low) & (freqs < high)), first:last] = 0
    return torch.istft(spec, HOLE_N_FFT, HOLE_HOP, window=window, length=audio.size).numpy()


def region_power_db(audio: np.ndarray, low: float, high: float, first: int, last: int, rate: int = 48000) -> float:
    window = torch.hann_window(HOLE_N_FFT)
    spec = torch.stft(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), HOLE_N_FFT, HOLE_HOP,
                      window=window, return_complex=True)
    freqs = np.linspace(0, rate / 2, spec.shape[0])
    rows = torch.from_numpy((freqs >= low) & (freqs < high))
    return float(10 * torch.log10(spec[rows, first:last].abs().square().mean()))


def test_codec_holes_are_filled_at_the_level_around_them_from_the_generated_signal():
    rate, cutoff = 48000, 20000.0
    noise = np.random.default_rng(2).standard_normal(2 * rate).astype(np.float32) * 0.1
    holes = [(15000, 18000, 30, 60), (17000, 19500, 100, 110)]
    low_hole = (5000, 7000, 30, 60)  # under HOLE_ZONE of the cutoff: the input's own, kept
    known = carve(noise, holes + [low_hole])
    generated = 3.0 * noise  # the right waveform, 9.5 dB too loud: the fill takes the level from around the hole
    filled = fill_codec_holes(torch.from_numpy(known)[None, None], torch.from_numpy(generated)[None, None],
                              torch.tensor([cutoff / (rate / 2)]), rate)[0, 0].numpy()
    for low, high, first, last in holes:
        inner = (low + 200, high - 200, first + 3, last - 3)
        assert region_power_db(known, *inner) < region_power_db(noise, *inner) - 40
        assert abs(region_power_db(filled, *inner) - region_power_db(noise, *inner)) < 1.0
    inner = (low_hole[0] + 200, low_hole[1] - 200, low_hole[2] + 3, low_hole[3] - 3)
    assert region_power_db(filled, *inner) < region_power_db(noise, *inner) - 40
    intact = (8000, 14000, 0, 200)  # no hole: the input as it was
    untouched = slice(130 * HOLE_HOP, 190 * HOLE_HOP)  # frames far from every hole: the input sample for sample
    assert np.abs(filled[untouched] - known[untouched]).max() < 1e-5
    assert abs(region_power_db(filled, *intact) - region_power_db(known, *intact)) < 0.01


def test_nothing_is_filled_without_holes_or_where_everything_is_silent():
    noise = np.random.default_rng(3).standard_normal(48000).astype(np.float32) * 0.1
    known = torch.from_numpy(noise)[None, None]
    band = torch.tensor([0.75])
    assert torch.allclose(fill_codec_holes(known, 5 * known, band, 48000), known, atol=1e-6)
    silent = torch.zeros(1, 1, 48000)
    assert fill_codec_holes(silent, silent, band, 48000).abs().max() == 0


def test_the_pipeline_fills_holes_under_a_codecs_cut_only(tiny_pipeline):
    rate = 48000
    noise = np.random.default_rng(4).standard_normal(rate).astype(np.float32) * 0.1
    audio = carve(lowpass(noise, rate, 16000.0, "cheby1", 10), [(11000, 15000, 40, 80)])
    common = {"cutoff": 16000.0, "num_inference_steps": 2, "target_rate": rate}
    outputs = {codec: tiny_pipeline(audio, rate, codec_cut=codec, generator=torch.Generator().manual_seed(0),
                                    **common).audios for codec in (False, True)}
    inner = (11500, 14500, 45, 75)
    assert region_power_db(outputs[False], *inner) < region_power_db(audio, 12000, 15000, 0, 30) - 30
    assert abs(region_power_db(outputs[True], *inner) - region_power_db(audio, 11500, 14500, 0, 30)) < 6


def test_a_codecs_top_is_read_through_its_granule_holes():
    level = torch.ones(1, 40)
    level[0, 10:12] = 0.0  # a granule whose top the encoder dropped (576 samples: about 2 frames of 256)
    level[0, 30:] = 1e-3  # the recording itself goes quiet: that stays, a granule late at most
    held = codec_top_level(level, 256)
    assert torch.all(held[0, :30] == 1.0)
    assert torch.all(held[0, 33:] == 1e-3)
