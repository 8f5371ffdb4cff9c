"""The corpus recipe: real recordings from Debian packages, selected, rendered and split by source file.

No audio is committed; `scripts/prepare_data.py` runs this recipe. Each source names a package, which of its
files to take, how far up its content can be trusted (lossy sources), and whether it is speech or music. MIDI
files are rendered with fluidsynth at 44.1 kHz (the soundfonts' samples stop there) under a time limit, after
an "all notes off / all sound off" is appended, so a stuck looped note cannot render for ever. Their drums (MIDI
channel 10) play on the recorded kits of `avldrums.lv2-soundfont`: each kit's one preset is moved to the General
MIDI percussion bank (`as_percussion_kit`) and loaded above the instrument soundfont, so channel 10 finds it first.

Only files at 44.1 kHz or more whose measured cutoff reaches 12 kHz are kept (the rest is not high-resolution
material). The manifest (`manifest.jsonl`) has one line per file: path (relative to the corpus folder), source
package, licence, kind (speech / music), split (train / test), sample rate, channels, duration, measured bandwidth
(Hz: the cutoff, `nuwave.audio.cutoff`), content top (Hz: where the content ends, a gentle roll-off included, same
module), trusted band (Hz) and whether the source is lossless. The benchmark sets are chosen
from its held-out files by `nuwave.corpus.benchmark_sets`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from nuwave.audio.cutoff import SpectrumAccumulator
from nuwave.audio.files import AudioError, probe, read_audio

logger = logging.getLogger("nuwave.corpus")

RENDER_RATE = 44100
RENDER_SECONDS_LIMIT = 600
TEST_FRACTION = 0.1
# High-resolution material only: lower rates and files whose content stops early are left out.
MIN_RATE = 44100
MIN_CUTOFF_HZ = 12000.0


@dataclass(frozen=True)
class Source:
    package: str
    patterns: tuple[str, ...]
    kind: str
    trusted_hz: float | None = None
    midi: bool = False
    # A zip archive inside the package (e.g. a game's .pk3) and the members of it to take (patterns on the
    # member's path); the patterns above then select among those.
    archive: str | None = None
    members: tuple[str, ...] = ()


SOURCES = (
    Source("megaglest-data", ("*_ack*.wav", "*_select*.wav", "*_ack*.ogg", "*_select*.ogg"), "speech"),
    Source("tuxpaint-stamps-default", ("*_desc_es.ogg", "*_desc_da.ogg"), "speech", trusted_hz=17000.0),
    # The announcer of OpenArena: lossless WAV at 44.1 kHz, studio voice lines reaching 20-22 kHz.
    Source("openarena-081-misc", ("*.wav",), "speech", archive="pak6-misc.pk3",
           members=("sound/feedback/*", "sound/teamplay/*")),
    # The voice actors of 0 A.D.: Ogg Vorbis (about 177 kbit/s) at 44.1 kHz inside the game's public.zip, adult
    # voices reaching 16-22 kHz; trusted to 18 kHz like the other Vorbis sources (an encoder's top is its own).
    Source("0ad-data", ("*.ogg",), "speech", trusted_hz=18000.0, archive="public.zip",
           members=tuple(f"audio/voice/{civ}/civ/*" for civ in ("greek", "latin", "napatan", "persian"))),
    Source("hydrogen-drumkits", ("*.flac", "*.wav"), "music"),
    Source("hydrogen-drumkits-effects", ("*.flac", "*.wav"), "music"),
    Source("wesnoth-1.16-music", ("*.ogg",), "music", trusted_hz=18000.0),
    Source("openttd-openmsx", ("*.mid",), "music", midi=True),
    Source("simutrans-data", ("*.mid",), "music", midi=True),
)
SOUNDFONTS = {
    "musescore-general-soundfont-lossless": "MuseScore_General_Full.sf2",
    "fluid-soundfont-gm": "FluidR3_GM.sf2",
}
# Real drum kits for MIDI channel 10, in turn; each sf2 holds one kit at bank 0, program 0.
DRUM_KITS = ("avldrums.lv2-soundfont", ("Black_Pearl_4_LV2.sf2", "Red_Zeppelin_4_LV2.sf2"))
PERCUSSION_BANK = 128
# The end of every rendered MIDI file: controller 123 (all notes off) and 120 (all sound off) on all channels.
ALL_OFF = b"".join(bytes([0x00, 0xB0 | ch, 123, 0, 0x00, 0xB0 | ch, 120, 0]) for ch in range(16))


def fetch(package: str, folder: Path) -> Path:
    """`apt-get download` a package and unpack it with `dpkg-deb -x`; returns the unpacked tree."""
    tree = folder / "packages" / package
    if tree.exists():
        return tree
    debs = folder / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
    deb = max(debs.glob(f"{package}_*.deb"))
    tree.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    return tree


def unpack_members(tree: Path, source: Source) -> Path:
    """Extract the wanted members of `source.archive` (a zip found in `tree`) once; returns the folder to search."""
    if source.archive is None:
        return tree
    folder = tree / "_archive"
    done = folder / ".complete"
    if not done.exists():
        found = sorted(tree.rglob(source.archive))
        if not found:
            raise RuntimeError(f"{source.package} has no {source.archive}")
        with zipfile.ZipFile(found[0]) as archive:
            for member in archive.namelist():
                if any(fnmatch.fnmatch(member, pattern) for pattern in source.members) and not member.endswith("/"):
                    archive.extract(member, folder)
        done.touch()
    return folder


def licence(tree: Path, package: str) -> str:
    copyright_file = tree / "usr" / "share" / "doc" / package / "copyright"
    if copyright_file.exists():
        text = copyright_file.read_text(errors="replace")
        found = re.findall(r"^License:[ \t]*(\S.*)$", text, re.MULTILINE)
        found = found or re.findall(r"common-licenses/([\w.+-]+)", text)
        if found:
            return found[0].strip()
    return "see the package's copyright file"


def split_of(name: str) -> str:
    """Test or train, by a hash of the source file's name: whole files, never segments."""
    digest = hashlib.sha256(name.encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < TEST_FRACTION else "train"


def with_all_notes_off(midi: bytes) -> bytes:
    """Append ALL_OFF events before the end-of-track of the first track of a standard MIDI file."""
    end = midi.find(b"\xff\x2f\x00", 14)
    start = midi.find(b"MTrk")
    if end < 0 or start < 0:
        return midi
    body = midi[: end - 1] + ALL_OFF + midi[end - 1 :]
    length = int.from_bytes(midi[start + 4 : start + 8], "big") + len(ALL_OFF)
    return body[: start + 4] + length.to_bytes(4, "big") + body[start + 8 :]


def riff_chunks(data: bytes, start: int, end: int):
    """(id, payload start, payload size) of the RIFF chunks in data[start:end] (sizes little-endian, padded to even)."""
    while start + 8 <= end:
        size = int.from_bytes(data[start + 4 : start + 8], "little")
        yield data[start : start + 4], start + 8, size
        start += 8 + size + (size & 1)


def as_percussion_kit(soundfont: bytes) -> bytes:
    """The SoundFont 2 file with every preset moved to the percussion bank (128), where MIDI channel 10 looks.

    Preset headers (`phdr` in the `pdta` list) are 38-byte records: name (20 bytes), program (2), bank (2), then
    indices; the last record (EOP) only terminates the list and is left alone.
    """
    if soundfont[:4] != b"RIFF" or soundfont[8:12] != b"sfbk":
        raise ValueError("not a SoundFont 2 file")
    patched = bytearray(soundfont)
    for chunk, start, size in riff_chunks(soundfont, 12, len(soundfont)):
        if chunk == b"LIST" and soundfont[start : start + 4] == b"pdta":
            for inner, payload, length in riff_chunks(soundfont, start + 4, start + size):
                if inner == b"phdr":
                    for record in range(payload, payload + length - 38, 38):
                        patched[record + 22 : record + 24] = PERCUSSION_BANK.to_bytes(2, "little")
                    return bytes(patched)
    raise ValueError("SoundFont has no preset headers")


def render_midi(midi: Path, soundfonts: list[Path], out: Path) -> bool:
    """Render with fluidsynth to a 44.1 kHz stereo WAV under a time limit; False when it failed or ran over.

    Later soundfonts sit above earlier ones: a preset is taken from the last one that has it.
    """
    fixed = out.with_suffix(".mid")
    fixed.write_bytes(with_all_notes_off(midi.read_bytes()))
    try:
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(RENDER_RATE), "-F", str(out),
                        *map(str, soundfonts), str(fixed)], check=True, capture_output=True,
                       timeout=RENDER_SECONDS_LIMIT)
    except (subprocess.SubprocessError, OSError):
        out.unlink(missing_ok=True)
        return False
    finally:
        fixed.unlink(missing_ok=True)
    return out.exists() and out.stat().st_size > 44


def to_flac(source: Path, out: Path) -> bool:
    """Copy audio into a FLAC (integer, lossless) at its own rate; False for unusable or 8-bit files."""
    try:
        info = probe(source)
    except AudioError:
        return False
    if info.subtype in ("PCM_U8", "PCM_S8"):
        return False
    audio, rate = read_audio(source)
    subtype = "PCM_24" if info.subtype in ("PCM_24", "PCM_32", "FLOAT", "DOUBLE") else "PCM_16"
    partial = out.with_suffix(".part.flac")
    sf.write(str(partial), np.clip(audio.T, -1, 1), rate, subtype=subtype)
    partial.replace(out)  # `build` skips files that exist: never leave a half-written one under the final name
    return True


def manifest_entries(folder: Path) -> list[dict]:
    """The entries of the corpus manifest `folder/manifest.jsonl` that `build` writes, one dict per file."""
    lines = (Path(folder) / "manifest.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def build(folder: Path, sources: tuple[Source, ...] = SOURCES) -> Path:
    """Run the recipe into `folder`; returns the manifest path. Progress goes to the `nuwave.corpus` logger."""
    folder = Path(folder)
    audio_root = folder / "audio"
    fonts, kits = {}, []
    if any(s.midi for s in sources):
        if shutil.which("fluidsynth") is None:
            raise RuntimeError("fluidsynth is needed to render the MIDI sources: apt-get install fluidsynth")
        for package, name in SOUNDFONTS.items():
            found = list(fetch(package, folder).rglob(name))
            if found:
                fonts[package] = found[0]
        package, names = DRUM_KITS
        tree = fetch(package, folder)
        for name in names:
            kit = folder / "soundfonts" / f"percussion_{name}"
            if not kit.exists():
                found = sorted(tree.rglob(name))
                if not found:
                    raise RuntimeError(f"{package} has no {name}")
                kit.parent.mkdir(parents=True, exist_ok=True)
                partial = kit.with_suffix(".part")
                partial.write_bytes(as_percussion_kit(found[0].read_bytes()))
                partial.replace(kit)
            kits.append(kit)
    entries = []
    for source in sources:
        tree = fetch(source.package, folder)
        rights = licence(tree, source.package)
        searched = unpack_members(tree, source)
        files = sorted(p for p in searched.rglob("*") if p.is_file()
                       and any(fnmatch.fnmatch(p.name.lower(), pattern.lower()) for pattern in source.patterns))
        target = audio_root / source.package
        target.mkdir(parents=True, exist_ok=True)
        kept = 0
        for index, path in enumerate(files):
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(path.relative_to(searched)).replace("/", "__"))
            out = target / (Path(stem).stem + ".flac")
            if not out.exists():
                if source.midi:
                    font = list(fonts.values())[index % len(fonts)]
                    kit = kits[index // len(fonts) % len(kits)]
                    wav = out.with_suffix(".wav")
                    if not render_midi(path, [font, kit], wav):
                        continue
                    done = to_flac(wav, out)
                    wav.unlink(missing_ok=True)
                else:
                    done = to_flac(path, out)
                if not done:
                    continue
            info = sf.info(str(out))
            if info.samplerate < MIN_RATE:
                out.unlink()
                continue
            audio, rate = read_audio(out)
            spectrum = SpectrumAccumulator()
            spectrum.update(audio)
            cutoff, content = spectrum.cutoff(rate), spectrum.content_top(rate)
            if info.frames < rate // 4 or np.sqrt(np.mean(audio**2)) < 1e-4 or cutoff < MIN_CUTOFF_HZ:
                out.unlink()
                continue
            trusted = min(filter(None, (source.trusted_hz, cutoff, rate / 2)))
            entries.append({
                "path": str(out.relative_to(folder)), "package": source.package, "licence": rights,
                "kind": source.kind, "split": split_of(f"{source.package}/{path.name}"), "sample_rate": rate,
                "channels": info.channels, "seconds": round(info.frames / rate, 3),
                "bandwidth_hz": round(cutoff, 1), "content_hz": round(content, 1), "trusted_hz": round(trusted, 1),
                "lossless": source.trusted_hz is None,
            })
            kept += 1
        logger.info("%s: %d of %d files", source.package, kept, len(files))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    for kind in ("speech", "music"):
        for split in ("train", "test"):
            chosen = [e for e in entries if e["kind"] == kind and e["split"] == split]
            (folder / f"{kind}_{split}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in chosen))
            (folder / f"{kind}_{split}.txt").write_text("".join(e["path"] + "\n" for e in chosen))
            for lossless, name in ((True, "lossless"), (False, "lossy")):
                part = [e for e in chosen if e["lossless"] == lossless]
                (folder / f"{kind}_{split}_{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in part))
    return manifest
