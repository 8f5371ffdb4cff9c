"""The pure parts of the corpus recipe (fetching and rendering need apt and fluidsynth, not run in CI)."""

import pytest

from nuwave.corpus.recipe import (
    ALL_OFF,
    DRUM_KITS,
    PERCUSSION_BANK,
    SOURCES,
    as_percussion_kit,
    split_of,
    with_all_notes_off,
)


def minimal_midi() -> bytes:
    track = bytes([0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])
    header = b"MThd" + (6).to_bytes(4, "big") + bytes([0, 0, 0, 1, 0, 96])
    return header + b"MTrk" + len(track).to_bytes(4, "big") + track


def test_all_notes_off_is_inserted_before_the_end_of_track():
    fixed = with_all_notes_off(minimal_midi())
    start = fixed.find(b"MTrk")
    length = int.from_bytes(fixed[start + 4 : start + 8], "big")
    track = fixed[start + 8 :]
    assert len(track) == length == 12 + len(ALL_OFF)
    assert track.endswith(b"\x00\xff\x2f\x00") and ALL_OFF in track


def chunk(name: bytes, payload: bytes) -> bytes:
    return name + len(payload).to_bytes(4, "little") + payload + b"\0" * (len(payload) & 1)


def preset(name: bytes, program: int, bank: int) -> bytes:
    return name.ljust(20, b"\0") + program.to_bytes(2, "little") + bank.to_bytes(2, "little") + bytes(14)


def minimal_soundfont(*presets: bytes) -> bytes:
    info = chunk(b"LIST", b"INFO" + chunk(b"ifil", bytes([2, 0, 4, 0])) + chunk(b"INAM", b"kit\0\0"))
    samples = chunk(b"LIST", b"sdta" + chunk(b"smpl", bytes(7)))  # odd size: padded
    headers = chunk(b"LIST", b"pdta" + chunk(b"phdr", b"".join(presets) + preset(b"EOP", 0, 0))
                    + chunk(b"pbag", bytes(8)))
    return chunk(b"RIFF", b"sfbk" + info + samples + headers)


def test_percussion_kit_moves_every_preset_to_the_percussion_bank_and_nothing_else():
    original = minimal_soundfont(preset(b"Black_Pearl", 0, 0), preset(b"Brushes", 1, 0))
    patched = as_percussion_kit(original)
    assert len(patched) == len(original)
    records = patched.find(b"phdr") + 8
    banks = [int.from_bytes(patched[records + 38 * i + 22 : records + 38 * i + 24], "little") for i in range(3)]
    assert banks == [PERCUSSION_BANK, PERCUSSION_BANK, 0]  # the terminal EOP record stays as it was
    changed = [i for i in range(len(original)) if original[i] != patched[i]]
    assert changed == [records + 22, records + 38 + 22]


def test_percussion_kit_refuses_what_is_not_a_soundfont():
    with pytest.raises(ValueError, match="SoundFont"):
        as_percussion_kit(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(ValueError, match="preset headers"):
        as_percussion_kit(chunk(b"RIFF", b"sfbk" + chunk(b"LIST", b"INFO")))


def test_split_is_by_file_name_and_stable():
    names = [f"pkg/file{i}.wav" for i in range(400)]
    splits = [split_of(name) for name in names]
    assert splits == [split_of(name) for name in names]
    assert 20 <= splits.count("test") <= 60


def test_recipe_names_the_sources_of_the_issue():
    packages = {source.package for source in SOURCES}
    assert DRUM_KITS[0] == "avldrums.lv2-soundfont"
    assert {"openttd-openmsx", "simutrans-data", "megaglest-data", "hydrogen-drumkits"} <= packages
    assert {"warzone2100-music", "klettres-data", "ktuberling-data"}.isdisjoint(packages)


def test_benchmark_set_is_held_out_lossless_within_budget_with_excerpts(tmp_path, monkeypatch):
    import numpy as np
    import soundfile as sf

    from nuwave.corpus.benchmark_sets import EVAL_SECONDS_PER_SOURCE, EXCERPT_SECONDS, benchmark_set, benchmark_source

    monkeypatch.setitem(EVAL_SECONDS_PER_SOURCE, "music", 10.0)
    assert EXCERPT_SECONDS == 5.0
    entries = []
    for index, (seconds, split, lossless) in enumerate(
            [(1.0, "test", True)] * 4 + [(30.0, "test", True)] * 2 + [(1.0, "train", True), (1.0, "test", False)]):
        path = f"audio/pkg/f{index}.flac"
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(tmp_path / path), np.full(int(seconds * 1000), index / 100, dtype=np.float32), 1000)
        entries.append({"path": path, "package": "pkg", "kind": "music", "split": split, "lossless": lossless,
                        "seconds": seconds, "bandwidth_hz": 22050.0, "content_hz": 22050.0})
    chosen = benchmark_set(tmp_path, entries, "music")
    assert chosen == benchmark_set(tmp_path, entries, "music")
    assert "audio/pkg/f6.flac" not in chosen and "audio/pkg/f7.flac" not in chosen
    seconds = [sf.info(str(tmp_path / path)).duration for path in chosen]
    assert sum(seconds) <= EVAL_SECONDS_PER_SOURCE["music"] and max(seconds) <= EXCERPT_SECONDS
    excerpts = [path for path in chosen if path.startswith("excerpts/")]
    assert len(excerpts) == 1 and len(chosen) == 5  # 4 x 1 s and one 5 s excerpt: the second does not fit
    audio, _ = sf.read(str(tmp_path / excerpts[0]))  # file 4 or 5 (level 0.04 / 0.05), from a third of the way
    assert len(audio) == EXCERPT_SECONDS * 1000 and np.ptp(audio) < 1e-4 and round(audio[0], 2) in (0.04, 0.05)
    assert excerpts[0].endswith("_from10000.flac")
    assert benchmark_source(excerpts[0]) in ("audio/pkg/f4.flac", "audio/pkg/f5.flac")
    assert benchmark_source("audio/pkg/f0.flac") == "audio/pkg/f0.flac"
