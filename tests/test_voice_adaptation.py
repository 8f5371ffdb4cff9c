import json


def test_voices_and_their_training_lines_leave_out_held_out_names(script, tmp_path):
    adaptation = script("voice_adaptation")
    assert adaptation.line_name("audio/x/usr__units__battleaxe__sounds__daemon_ack3.flac") == "daemon_ack3"
    assert adaptation.voice_of("a__sounds__daemon_ack3.flac") == "daemon"
    assert adaptation.voice_of("a__sounds__axe_thrower_select6.flac") == "axe_thrower"
    assert adaptation.voice_of("sound__teamplay__flagtaken_opponent.flac") is None
    assert adaptation.instrument_of("a__drumkits__belofilms_GuitarStrums__Bflat_major_DOWN_03.flac") == \
        "belofilms_GuitarStrums"
    assert adaptation.instrument_of("a__games__simutrans__music__07-Transport-chaos.flac") is None
    entry = {"kind": "speech", "split": "train", "lossless": True, "seconds": 1.5}
    entries = [{**entry, "path": "audio/g/u1__sounds__daemon_ack1.flac"},
               {**entry, "path": "audio/g/u2__sounds__daemon_ack3.flac"},  # a held-out line's name, another unit
               {**entry, "path": "audio/g/u1__sounds__daemon_ack2.flac", "lossless": False},
               {**entry, "path": "audio/g/u1__sounds__daemon_ack4.flac", "split": "test"},
               {**entry, "path": "audio/g/u1__sounds__archer_ack1.flac"}]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    lines = adaptation.training_lines(tmp_path, "speech", "daemon", {"daemon_ack3"})
    assert lines == [(tmp_path / "audio/g/u1__sounds__daemon_ack1.flac", 1.5)]
    many = [{**entry, "path": f"audio/g/u1__sounds__daemon_select{n}.flac", "seconds": 25.0} for n in range(5)]
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in many))
    assert len(adaptation.training_lines(tmp_path, "speech", "daemon", set())) == 3  # up to MAX_SECONDS (60 s)


def test_transitions_read_shipped_then_fitted(script):
    adaptation = script("voice_adaptation")
    cells = adaptation.transitions({"octave 1": (3.94, 0.8), "octave 2": (-5.0, -2.7), "lsd": (0.259, 0.2141),
                                    "snr": (-4.61, -2.094), "other": (0.31, 0.33)})
    assert cells == ["+3.9 -> +0.8", "-5.0 -> -2.7", "0.259 -> 0.214", "-4.61 -> -2.09", "0.310 -> 0.330"]
    nan = float("nan")
    assert adaptation.transitions({"octave 1": (1.0, 0.5), "octave 2": (nan, nan), "lsd": (0.3, 0.2),
                                   "snr": (0.0, 0.0), "other": (0.3, 0.3)})[1] == "-"
