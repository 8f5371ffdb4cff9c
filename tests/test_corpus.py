"""The pure parts of the corpus recipe (fetching and rendering need apt and fluidsynth, not run in CI)."""

from nuwave.corpus import ALL_OFF, SOURCES, split_of, with_all_notes_off


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


def test_split_is_by_file_name_and_stable():
    names = [f"pkg/file{i}.wav" for i in range(400)]
    splits = [split_of(name) for name in names]
    assert splits == [split_of(name) for name in names]
    assert 20 <= splits.count("test") <= 60


def test_recipe_names_the_sources_of_the_issue():
    packages = {source.package for source in SOURCES}
    assert {"openttd-openmsx", "simutrans-data", "megaglest-data", "hydrogen-drumkits"} <= packages
    assert {"warzone2100-music", "klettres-data", "ktuberling-data"}.isdisjoint(packages)
