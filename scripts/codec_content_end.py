"""MP3s of recordings whose content ends under the encoder's cut: the band above is the recording's own
(`nuwave.inference.upsample.treatment`), against taking every MP3 cliff as the encoder's, written as markdown to
stdout.

The held-out benchmark references (speech, music mixed to mono, stereo music), each at its own sample rate (those
above 48 kHz at 44.1 or 48 kHz), as they are and low-passed at 19 and 20 kHz (Chebyshev I, order 10, zero phase:
the speech-pauses set's 20 kHz cut), are written as 128 kbit/s constant-bit-rate MP3 files and as LAME's best
variable-bit-rate ones (-V 0, which low-passes nothing on noise), and upsampled at their own rate through
`upsample_file`, as `nuwave upsample` does (8 steps, seed 0): once with the defaults (`--codec-cut auto`) and once
with every MP3 cliff taken as the encoder's (`--codec-cut yes`, the behaviour before `treatment` looked at the
encoder). LAME cuts a mono 128 kbit/s MP3 at 20.2 kHz (44.1 kHz) or 20.5 kHz (48 kHz)
and a joint-stereo one at 16.7 kHz.

A cliff where the encoder cuts is ambiguous: the content may go on above it or have ended there. A last table takes
recordings of the training split as they end by themselves (lossless, their measured bandwidth from 19.5 kHz up,
so that the MP3's cliff is the encoder's), as 128 kbit/s mono MP3s at their own rates, and compares the default
(the band above the cut generated) with leaving the band above the cliff's foot as the encoder left it (`--top`
there: the spectral holes under it filled, nothing generated above).

    python scripts/codec_content_end.py > eval/results/codec_content_end.md
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from nuwave.audio.degrade import encode, lowpass, mp3_level, spectral_tilt
from nuwave.audio.dsp import fit_length, resample
from nuwave.audio.encoder import lame_cut
from nuwave.audio.files import read_audio
from nuwave.benchmark.evaluate import (
    Suite,
    analysis_pipeline,
    condition_name,
    file_metrics,
    load_reference,
    suite_file,
)
from nuwave.benchmark.tables import markdown_table
from nuwave.corpus.benchmark_sets import TOP_CUT_HZ, content_top, excerpt_span, name_order
from nuwave.corpus.recipe import manifest_entries
from nuwave.inference.options import DEFAULT_MODEL
from nuwave.inference.upsample import Scan, UpsampleSettings, treatment, upsample_file

KBPS = 128
# How the MP3s are made (libsndfile's LAME): constant 128 kbit/s, and LAME's best variable quality (-V 0), which
# low-passes nothing on noise but may drop the top of what it codes.
ENCODINGS = ((f"{KBPS} kbit/s", {"compression_level": mp3_level(KBPS), "bitrate_mode": "CONSTANT"}),
             ("VBR -V 0", {"compression_level": 0.0, "bitrate_mode": "VARIABLE"}))
CUT_TABLE_KBPS = (64, 96, 128, 160, 192, 256, 320)
TILTS = (0.0, -6.0, -12.0)
TILT_CORNER_HZ = 4000.0
QUIET_DB = -40.0
# An output counts as worse than the decoded MP3 above this ratio of their LSDs (a file only resampled differs from
# the decoded MP3 by the output's 24-bit quantisation in its empty bins).
WORSE = 1.01
CONTENT_ENDS = (None, 19000.0, TOP_CUT_HZ)
# The training split's own content ends: files per package, and the rows of content tops (Hz, from, under).
NATURAL_PER_PACKAGE = 8
NATURAL_MIN_BANDWIDTH_HZ = 19500.0
NATURAL_ROWS = (("under 20 kHz", 0.0, 20000.0), ("20-21.5 kHz", 20000.0, 21500.0), ("from 21.5 kHz", 21500.0, np.inf),
                ("all", 0.0, np.inf))
# Only MP3s whose cliff lies this high are asked about: lower ones are no encoder's cut at 128 kbit/s mono.
NATURAL_MIN_CLIFF_HZ = 19000.0
SUITES = ("speech", "music", "speech-pauses", "stereo")
SETS = (("speech", "speech_benchmark.txt", False), ("music", "music_benchmark.txt", False),
        ("stereo music", "stereo_benchmark.txt", True))


def at_mp3_rate(audio: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """`audio` at `rate`, or brought down to 44.1 or 48 kHz (the rates an MP3 of it would have) from above 48 kHz."""
    if rate <= 48000:
        return audio, rate
    target = 44100 if rate % 44100 == 0 else 48000
    return resample(audio, rate, target), target


def references(data: Path, manifest: str, stereo: bool) -> list[tuple[np.ndarray, int]]:
    """`(C, T)` references at their own rates (mono sets mixed to one channel), those above 48 kHz brought down to
    44.1 or 48 kHz (the rates an MP3 of them would have)."""
    lines = [line.strip() for line in (data / manifest).read_text().splitlines()]
    out = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        audio, rate = at_mp3_rate(*read_audio(data / line))
        out.append((audio if stereo else audio.mean(axis=0, keepdims=True), rate))
    return out


def lsd(path: Path, reference: np.ndarray, rate: int, cutoff: float) -> float:
    audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    audio = fit_length(np.ascontiguousarray(audio.T), reference.shape[-1])
    squeeze = (lambda x: x[0]) if reference.shape[0] == 1 else (lambda x: x)
    values = file_metrics(torch.from_numpy(squeeze(audio)), torch.from_numpy(squeeze(reference)), cutoff, rate)
    return values["lsd"]


def compare(pipe, folder: Path, files: list[tuple[np.ndarray, int]], end: float | None, options: dict
            ) -> np.ndarray:
    """Per file (low-passed at `end` Hz unless None, as an MP3 of libsndfile's `options`): the decoded MP3's LSD,
    the default output's, the output's with every cliff the codec's, whether it was taken as its own band, and
    its encoder's cut (NaN unless so)."""
    cells = []
    for number, (audio, rate) in enumerate(files):
        reference = audio if end is None else lowpass(audio, rate, end, "cheby1", 10, 0.05, zero_phase=True)
        reference = np.ascontiguousarray(reference, dtype=np.float32)
        source = folder / f"{number}.mp3"
        sf.write(str(source), reference.T, rate, format="MP3", subtype="MPEG_LAYER_III", **options)
        row = []
        for setting in (None, True):
            result = upsample_file(pipe, source, folder / f"{number}_{setting}.wav",
                                   UpsampleSettings(target_rate=rate, codec_cut=setting))
            if setting is None:
                own, cut = result.encoder_cut is not None, result.encoder_cut or np.nan
            row.append(lsd(folder / f"{number}_{setting}.wav", reference, rate, result.cutoff))
        cells.append([lsd(source, reference, rate, result.cutoff), *row, float(own), cut])
    return np.asarray(cells, dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    pipe = analysis_pipeline(args.model)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for coding, options in ENCODINGS:
            for name, manifest, stereo in SETS:
                files = references(args.data, manifest, stereo)
                for end in CONTENT_ENDS:
                    cells = compare(pipe, Path(folder), files, end, options)
                    decoded = cells[:, 0].mean()
                    worse = (cells[:, 1:3] > WORSE * cells[:, :1]).sum(axis=0)
                    rows.append([coding, name, "as it is" if end is None else f"ends at {end / 1000:g} kHz",
                                 f"{len(cells)}", f"{int(cells[:, 3].sum())}",
                                 "-" if np.isnan(cells[:, 4]).all() else f"{np.nanmean(cells[:, 4]) / 1000:.1f}",
                                 f"{cells[:, 1].mean() / decoded:.3f}", f"{worse[0]}",
                                 f"{cells[:, 2].mean() / decoded:.3f}", f"{worse[1]}"])
    print("Produced by `python scripts/codec_content_end.py`\n")
    print(f"Held-out benchmark references at their own rates as MP3 files ({KBPS} kbit/s constant, and LAME's best "
          "variable quality), "
          "upsampled at that rate through `upsample_file` (8 steps, seed 0). LSD: the mean over files of the "
          "output's (the benchmark's LSD) over the mean of the decoded MP3's. `own band`: files whose content "
          "ends from 18 kHz up but 0.6 kHz or more under where the encoder cuts (`encoder cut`, LAME measured at "
          "the file's settings), resampled only by default; `every cliff the codec's`: `--codec-cut yes`, how "
          "every MP3 was taken before. `worse`: files whose output's LSD is more than 1% above the decoded MP3's.\n")
    header = ["MP3", "set", "content", "files", "own band", "their encoder cut (kHz)", "LSD / decoded, default",
              "worse", "LSD / decoded, every cliff the codec's", "worse"]
    print("\n".join(markdown_table(header, rows)))
    print("\nWhere LAME cuts (`nuwave.audio.encoder.lame_cut`: the foot of its cliff on noise, kHz), by bit rate.\n")
    cuts = [[f"{rate / 1000:g} kHz", "mono" if channels == 1 else "stereo",
             *(f"{lame_cut(rate, channels, kbps) / 1000:.1f}" for kbps in CUT_TABLE_KBPS)]
            for rate in (44100, 48000) for channels in (1, 2)]
    print("\n".join(markdown_table(["rate", "channels", *(f"{kbps} kbit/s" for kbps in CUT_TABLE_KBPS)], cuts)))
    print("\nThe benchmark's own MP3 inputs (every suite, as `nuwave eval` makes them): how many `treatment` takes "
          "as the recording's own band.\n")
    own = benchmark_rows(args.data, pipe.model_rate)
    print("\n".join(markdown_table(["suite", "condition", "inputs", "own band"], own)))
    print("\nDark and quiet recordings, whose top LAME may drop under its usual cut: the held-out speech and mono "
          f"music references as they are (their content goes on above the cut), tilted above {TILT_CORNER_HZ / 1000:g} "
          f"kHz and at full level or {QUIET_DB:g} dB, as {KBPS} kbit/s MP3s: how many `treatment` takes as their "
          "own band (resampled only: no better than the decoded MP3, no worse) and the lowest feet of their cliffs.\n")
    print("\n".join(markdown_table(["tilt (dB per octave)", "level", "files", "own band", "lowest feet (kHz)"],
                                   dark_rows(args.data, pipe.model_rate))))
    print("\nA cliff where the encoder cuts: recordings of the training split as they end by themselves "
          f"(`NATURAL_PER_PACKAGE` = {NATURAL_PER_PACKAGE} lossless files per package whose bandwidth reaches "
          f"{NATURAL_MIN_BANDWIDTH_HZ / 1000:g} kHz, 5 s mono excerpts at their own rates), as {KBPS} kbit/s MP3s; "
          "those whose cliff lies from 19 kHz up and that are not taken as their own band, by the content top the "
          "corpus measured on the lossless file. LSD over the decoded MP3's: the default (the band above the cut "
          "generated) and the band above the cliff's foot left as the encoder left it (`--top` at the foot, "
          "`--codec-cut yes`: the holes under it filled).\n")
    with tempfile.TemporaryDirectory() as folder:
        print("\n".join(markdown_table(["content top", "files", "LSD / decoded, default", "worse",
                                        "LSD / decoded, nothing above the foot", "worse"],
                                       natural_rows(pipe, Path(folder), args.data))))


def natural_files(data: Path) -> list[tuple[np.ndarray, int, float]]:
    """`(1, T)` mono excerpts (`excerpt_span`) of the training split's lossless files whose bandwidth reaches
    `NATURAL_MIN_BANDWIDTH_HZ`, `NATURAL_PER_PACKAGE` per package in the benchmark's name order, at 44.1 or 48 kHz,
    with their content tops (Hz, the manifest's); silent excerpts left out."""
    entries = manifest_entries(data)
    chosen = [e for e in entries if e["split"] == "train" and e["lossless"]
              and e["bandwidth_hz"] >= NATURAL_MIN_BANDWIDTH_HZ and e["seconds"] >= 1.0]
    out = []
    for package in sorted({e["package"] for e in chosen}):
        taken = 0
        for entry in sorted((e for e in chosen if e["package"] == package), key=lambda e: name_order(e["path"])):
            if taken == NATURAL_PER_PACKAGE:
                break
            audio, rate = read_audio(data / entry["path"])
            start, length = excerpt_span(audio.shape[-1], rate)
            audio, rate = at_mp3_rate(audio[:, start:start + length].mean(axis=0, keepdims=True), rate)
            if np.sqrt(np.mean(np.square(audio))) < 1e-4:
                continue
            out.append((np.ascontiguousarray(audio, dtype=np.float32), rate, content_top(entry)))
            taken += 1
    return out


def natural_rows(pipe, folder: Path, data: Path) -> list[list[str]]:
    """Per range of content tops: the decoded MP3's LSD against the default output's and the output's with nothing
    generated above the cliff's foot, over the MP3s (128 kbit/s mono) whose cliff lies at 19 kHz or higher and
    that are not taken as their own band."""
    cells = []
    for audio, rate, top in natural_files(data):
        source = folder / "natural.mp3"
        sf.write(str(source), audio.T, rate, format="MP3", subtype="MPEG_LAYER_III", **ENCODINGS[0][1])
        decoded, _ = read_audio(source)
        found = Scan.of([decoded], rate)
        if found.cutoff < NATURAL_MIN_CLIFF_HZ:
            continue
        result = upsample_file(pipe, source, folder / "natural_default.wav", UpsampleSettings(target_rate=rate))
        if result.full_band or result.encoder_cut is not None:
            continue
        kept = UpsampleSettings(target_rate=rate, codec_cut=True, top=max(found.foot, found.cutoff + 1.0))
        upsample_file(pipe, source, folder / "natural_kept.wav", kept)
        cells.append([top, *(lsd(path, audio, rate, result.cutoff) for path in (
            source, folder / "natural_default.wav", folder / "natural_kept.wav"))])
    table = np.asarray(cells, dtype=np.float64).reshape(-1, 4)
    rows = []
    for name, low, high in NATURAL_ROWS:
        part = table[(table[:, 0] >= low) & (table[:, 0] < high)]
        if not len(part):
            continue
        decoded = part[:, 1].mean()
        worse = (part[:, 2:] > WORSE * part[:, 1:2]).sum(axis=0)
        rows.append([name, f"{len(part)}", f"{part[:, 2].mean() / decoded:.3f}", f"{worse[0]}",
                     f"{part[:, 3].mean() / decoded:.3f}", f"{worse[1]}"])
    return rows


def dark_rows(data: Path, model_rate: int) -> list[list[str]]:
    """Per tilt and level: the mono references as MP3s, how many are taken as their own band."""
    files = [item for name, manifest, stereo in SETS if not stereo for item in references(data, manifest, stereo)]
    rows = []
    for tilt in TILTS:
        for gain_db in (0.0, QUIET_DB):
            own, feet = 0, []
            for audio, rate in files:
                shaped = spectral_tilt(audio[0], rate, tilt, TILT_CORNER_HZ) * 10 ** (gain_db / 20)
                decoded, _ = sf.read(io.BytesIO(encode(shaped, rate, "mp3", mp3_level(KBPS), constant=True)),
                                     dtype="float32", always_2d=True)
                found = Scan.of([decoded.T], rate)
                how = treatment(found.cutoff, found.foot, True, lame_cut(rate, 1, KBPS),
                                UpsampleSettings(target_rate=rate), model_rate)
                own += how.encoder_cut is not None
                feet.append(found.foot)
            lowest = ", ".join(f"{foot / 1000:.1f}" for foot in sorted(feet)[:3])
            rows.append([f"{tilt:+g}", "full" if gain_db == 0 else f"{gain_db:g} dB", f"{len(files)}", f"{own}",
                         lowest])
    return rows


def benchmark_rows(data: Path, model_rate: int) -> list[list[str]]:
    """Per shipped suite and MP3 condition: the inputs, and those whose content ends under the encoder's cut."""
    rows = []
    for name in SUITES:
        suite = Suite.load(suite_file(name), data)
        counts: dict[str, list[int]] = {}
        for path in suite.files:
            reference = load_reference(path, suite.output_rate, suite.input_rates, suite.stereo)
            for condition in suite.conditions():
                if condition.input_rate is not None:
                    continue
                low, rate = condition.apply(reference, suite.output_rate)
                channels = np.atleast_2d(low)
                found = Scan.of([channels], rate)
                how = treatment(found.cutoff, found.foot, True, lame_cut(rate, channels.shape[0], condition.kbps),
                                UpsampleSettings(target_rate=rate), model_rate)
                counts.setdefault(condition_name(condition), []).append(int(how.encoder_cut is not None))
        rows += [[name, condition, f"{len(own)}", f"{sum(own)}"] for condition, own in counts.items()]
    return rows


if __name__ == "__main__":
    with torch.no_grad():
        sys.exit(main())
