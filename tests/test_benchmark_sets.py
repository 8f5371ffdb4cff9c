"""The benchmark sets built from a corpus: speech with pauses, and stereo with its probes."""

import json

import numpy as np
import soundfile as sf

from nuwave.corpus.benchmark_sets import PAUSE_RATE, ROOM_TONE_DBFS, STEREO_RATE, TOP_CUT_HZ, build_sets
from tests.conftest import tone_mix


def fake_corpus(folder):
    """A manifest of held-out lossless speech (mono, 44.1 kHz) and music (stereo and mono), and files to match."""
    entries = []
    rng = np.random.default_rng(0)
    for index in range(10):
        kind, channels = ("speech", 1) if index < 6 else ("music", 2 if index < 9 else 1)
        path = f"audio/{kind}{index}.flac"
        audio = tone_mix(44100, 3.0, seed=index) + 0.01 * rng.standard_normal(132300).astype(np.float32)
        if channels == 2:
            audio = np.stack([audio, np.roll(audio, 100)])
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(folder / path), np.atleast_2d(audio).T, 44100, subtype="PCM_24")
        entries.append({"path": path, "package": f"pkg{index % 2}", "kind": kind, "split": "test",
                        "lossless": True, "channels": channels, "seconds": 3.0, "bandwidth_hz": 22050.0})
    entries.append({**entries[0], "path": "audio/lossy.flac", "lossless": False})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_sets_are_deterministic_and_have_what_they_promise(tmp_path):
    fake_corpus(tmp_path)
    manifests = build_sets(tmp_path)
    first = {name: path.read_text() for name, path in manifests.items()}
    pauses = [tmp_path / line for line in first["speech-pauses"].split()]
    assert len(pauses) == 1  # six utterances make one file of four
    audio, rate = sf.read(str(pauses[0]), dtype="float32")
    assert rate == PAUSE_RATE and audio.ndim == 1
    zeros = np.flatnonzero(audio == 0)
    assert zeros.size > 0.4 * PAUSE_RATE  # the pauses between utterances are digital silence
    stereo = {p.split("/")[-1]: tmp_path / p for p in first["stereo"].split()}
    opposite = [name for name in stereo if name.startswith("opposite")]
    assert opposite and any(name.startswith("unrelated") for name in stereo)
    for name in opposite:
        pair, rate = sf.read(str(stereo[name]), dtype="float32")
        assert rate == STEREO_RATE and pair.shape[1] == 2
        np.testing.assert_array_equal(pair[:, 0], -pair[:, 1])
    assert any(name.startswith("stereo_") for name in stereo)
    # the same corpus gives the same sets
    again = build_sets(tmp_path)
    assert {name: path.read_text() for name, path in again.items()} == first
    assert sf.read(str(pauses[0]), dtype="float32")[0].tobytes() == audio.tobytes()


def test_room_tone_and_top_cut_files(tmp_path, monkeypatch):
    from nuwave.corpus import benchmark_sets

    fake_corpus(tmp_path)
    # more utterances than the corpus has: reuse them so that all four kinds of file are made
    held_out = benchmark_sets.held_out
    monkeypatch.setattr(benchmark_sets, "held_out",
                        lambda folder, kind: held_out(folder, kind) * (3 if kind == "speech" else 1))
    names = build_sets(tmp_path)["speech-pauses"].read_text().split()
    assert [n.split("/")[-1] for n in names] == ["pauses_0_silence.flac", "pauses_1_roomtone.flac",
                                                 "pauses_2_silence_20k.flac", "pauses_3_roomtone_20k.flac"]
    room, _ = sf.read(str(tmp_path / names[1]), dtype="float64")
    assert (room == 0).mean() < 0.01  # no digital silence: only the room tone's own zero crossings
    lead = room[: int(0.25 * PAUSE_RATE)]  # the lead-in holds the room tone alone
    assert abs(20 * np.log10(np.sqrt(np.mean(lead**2))) - ROOM_TONE_DBFS) < 3
    cut, _ = sf.read(str(tmp_path / names[2]), dtype="float64")
    spectrum = np.abs(np.fft.rfft(cut)) ** 2
    freqs = np.fft.rfftfreq(cut.size, 1 / PAUSE_RATE)
    assert spectrum[freqs > TOP_CUT_HZ + 500].sum() < 1e-6 * spectrum.sum()


def test_references_must_reach_the_band_they_measure(tmp_path):
    fake_corpus(tmp_path)
    manifest = tmp_path / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    # speech0 ends at 14 kHz by a gentle roll-off (no cliff: its cutoff is the Nyquist frequency); speech1 has an
    # older manifest line without a content top, and a cliff at 17 kHz.
    entries[0]["content_hz"] = 14000.0
    entries[1]["bandwidth_hz"] = 17000.0
    for entry in entries[2:]:
        entry["content_hz"] = entry["bandwidth_hz"]
    manifest.write_text("".join(json.dumps(e) + "\n" for e in entries))
    build_sets(tmp_path)
    speech = (tmp_path / "speech_benchmark.txt").read_text().split()
    assert "audio/speech0.flac" not in speech and "audio/speech1.flac" not in speech
    assert "audio/speech2.flac" in speech and "audio/lossy.flac" not in speech
    # four worthy utterances are left: one speech-pauses file, made of them
    assert len((tmp_path / "speech_pauses_benchmark.txt").read_text().split()) == 1
