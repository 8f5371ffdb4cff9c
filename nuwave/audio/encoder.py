"""Where an MP3's encoder cut the band, told apart from where the recording's own content ended.

An MP3 encoder low-passes what it codes at a frequency set by its bit rate, sample rate and channel count: LAME
(libmp3lame, also inside ffmpeg) keeps 20.2 kHz of a mono 44.1 kHz file at 96 kbit/s or more, 16.7 kHz of a
stereo one at 128 kbit/s, 11 kHz at 64. A recording whose content already ended under that frequency (a production
low-pass at 19 kHz, a microphone's roll-off) comes out of the codec with its own cliff, the encoder having cut
nothing. Read as the encoder's cut, such a cliff has a band generated above it that the recording never had: on
held-out speech low-passed at 19 kHz, a 128 kbit/s mono MP3 came out at 2.5 x the decoded input's LSD
(`eval/results/codec_content_end.md`).

`encoder_cut` says where the encoder of an MP3 file would cut: it reads the bit rate, sample rate
and channel count from the file's first frames and measures the cliff LAME leaves at those settings, on noise
encoded with the MP3 encoder libsndfile carries (LAME; ffmpeg's libmp3lame cuts within 50 Hz of it: both put the
foot of a mono 44.1 kHz 128 kbit/s cut at 20.2 kHz). The LAME tag's own low-pass field is not read: ffmpeg
leaves it at 0, and LAME's written value lies up to 0.4 kHz from where its filter actually ends. A variable bit
rate file (a Xing header, or frames of different bit rates) is measured at the quality its Xing header states
(`lame_vbr_cut`; LAME and libsndfile state it, ffmpeg does not, and then it gives None). Ogg Vorbis is left out:
libvorbis's cut moves with what it codes (full-band voices came out of it with cliffs well under its cut on noise),
so a cliff under its cut on noise does not tell that the content ended there.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

# kbit/s by bit-rate index: MPEG-1 Layer III, then MPEG-2 and 2.5 Layer III (index 0 is "free", 15 invalid).
BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
            2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
# Hz by sample-rate index, per MPEG version (1, 2, 2.5).
SAMPLE_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 2.5: (11025, 12000, 8000)}
VERSIONS = {0b11: 1, 0b10: 2, 0b00: 2.5}
# Frames read to decide that a file is coded at one bit rate.
FRAMES_CHECKED = 24
# How far under the encoder's cut the foot of an input's cliff must lie for the cliff to be the recording's own:
# LAME's foot moves with the content coded: where it cuts from 18 kHz up (96 kbit/s mono or more), held-out speech
# puts it 0-0.15 kHz under its foot on noise, music up to 0.42 kHz; a production low-pass at 19 kHz puts it
# 0.75-1.0 kHz under.
ENCODER_MARGIN_HZ = 600.0


@dataclass(frozen=True)
class Mp3Stream:
    """What an MP3 file's frame headers state: its sample rate in Hz, channel count, bit rate in kbit/s (None when
    it varies from frame to frame) and MPEG version (1, 2 or 2.5); for a variable bit rate, LAME's quality setting
    `-V` (0 best to 9) when its Xing header states it (LAME and libsndfile do, as 100 - 10 V - its algorithm's
    quality; ffmpeg writes 0 there, which says nothing)."""

    sample_rate: int
    channels: int
    kbps: int | None
    version: float
    vbr_quality: int | None = None


def _frame(data: bytes, at: int) -> tuple[Mp3Stream, int] | None:
    """The MPEG-1/2/2.5 Layer III frame header at `data[at:]` and the frame's length in bytes, or None."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    version = VERSIONS.get((data[at + 1] >> 3) & 0b11)
    layer = (data[at + 1] >> 1) & 0b11
    bitrate_index, rate_index = data[at + 2] >> 4, (data[at + 2] >> 2) & 0b11
    if version is None or layer != 0b01 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    kbps = BITRATES[1 if version == 1 else 2][bitrate_index]
    sample_rate = SAMPLE_RATES[version][rate_index]
    padding = (data[at + 2] >> 1) & 1
    channels = 1 if data[at + 3] >> 6 == 0b11 else 2
    length = (144 if version == 1 else 72) * kbps * 1000 // sample_rate + padding
    return Mp3Stream(sample_rate, channels, kbps, version), length


def _skip_id3(data: bytes) -> int:
    """Where the audio starts after an ID3v2 tag (0 without one)."""
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if data[5] & 0x10 else 0)


def read_stream(head: bytes) -> Mp3Stream | None:
    """The stream an MP3 file's first bytes `head` state (`Mp3Stream`), or None when they hold no run of
    consecutive Layer III frames. A Xing header in the first frame, or frames of different bit rates, make it
    variable (`kbps` None); an "Info" header is LAME's mark of a constant bit rate."""
    start = _skip_id3(head)
    for at in range(start, min(len(head) - 4, start + 65536)):
        first = _frame(head, at)
        if first is None:
            continue
        stream, length = first
        side_info = (17 if stream.channels == 1 else 32) if stream.version == 1 else (9 if stream.channels == 1
                                                                                       else 17)
        variable = head[at + 4 + side_info: at + 8 + side_info] == b"Xing"
        rates, position = {stream.kbps}, at + length
        for _ in range(FRAMES_CHECKED):
            following = _frame(head, position)
            if following is None:
                break
            if (following[0].sample_rate, following[0].channels) != (stream.sample_rate, stream.channels):
                break
            rates.add(following[0].kbps)
            position += following[1]
        if position == at + length:  # a lone sync pattern, not a run of frames
            continue
        kbps = stream.kbps if len(rates) == 1 and not variable else None
        quality = _xing_quality(head, at + 4 + side_info) if variable else None
        return Mp3Stream(stream.sample_rate, stream.channels, kbps, stream.version, quality)
    return None


def _xing_quality(head: bytes, at: int) -> int | None:
    """LAME's `-V` from the Xing header at `head[at:]`: its quality field (flag 8, after the frame count, byte
    count and table of contents it flags) is 100 - 10 V - q; None when absent, 0 or out of range."""
    if len(head) < at + 8:
        return None
    flags = int.from_bytes(head[at + 4: at + 8], "big")
    if not flags & 8:
        return None
    offset = at + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4)
    field = int.from_bytes(head[offset: offset + 4], "big") if len(head) >= offset + 4 else 0
    return (100 - field) // 10 if 0 < field <= 100 else None


def lame_level(kbps: int, version: float) -> float:
    """libsndfile's compression level for a constant `kbps` at an MPEG version: linear from the version's highest
    bit rate (level 0) to its lowest (level 1)."""
    rates = BITRATES[1 if version == 1 else 2][1:]
    low, high = rates[0], (64 if version == 2.5 else rates[-1])
    return float(np.clip((high - kbps) / (high - low), 0.0, 1.0))


def _lame_foot(sample_rate: int, channels: int, states: Callable[[Mp3Stream], bool], **options) -> float | None:
    """The foot in Hz of the cliff LAME leaves at libsndfile's MP3 `options` on 3 s of noise through a one-pole
    low-pass (falling towards the top as speech and music do); None when libsndfile cannot encode that stream or
    its frames do not state what `states` asks."""
    from scipy.signal import lfilter

    from nuwave.audio.cutoff import SpectrumAccumulator

    noise = np.random.default_rng(0).standard_normal((3 * sample_rate, channels))
    noise = (0.02 * lfilter([1.0], [1.0, -0.9], noise, axis=0)).astype(np.float32)
    buffer = io.BytesIO()
    try:
        with sf.SoundFile(buffer, "w", sample_rate, channels, format="MP3", subtype="MPEG_LAYER_III",
                          **options) as out:
            out.write(noise)
        coded = read_stream(buffer.getvalue()[:16384])
        if coded is None or not states(coded):
            return None
        decoded, _ = sf.read(io.BytesIO(buffer.getvalue()), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        return None
    spectrum = SpectrumAccumulator()
    spectrum.update(decoded.T)
    return spectrum.cliff(sample_rate)[1]


def _version(sample_rate: int) -> float | None:
    """The MPEG version of a sample rate (None: no MP3 has it)."""
    return next((version for version, rates in SAMPLE_RATES.items() if sample_rate in rates), None)


@functools.lru_cache(maxsize=64)
def lame_cut(sample_rate: int, channels: int, kbps: int) -> float | None:
    """The foot in Hz of the cliff LAME leaves at a constant `kbps` kbit/s, `sample_rate` and `channels`
    (`_lame_foot`); None when libsndfile cannot encode such a stream or codes it at another bit rate."""
    version = _version(sample_rate)
    if version is None or channels not in (1, 2):
        return None
    return _lame_foot(sample_rate, channels, lambda coded: coded.kbps == kbps,
                      compression_level=lame_level(kbps, version), bitrate_mode="CONSTANT")


@functools.lru_cache(maxsize=64)
def lame_vbr_cut(sample_rate: int, channels: int, quality: int) -> float | None:
    """The foot in Hz of the cliff LAME leaves at variable bit rate `-V quality` (libsndfile's compression level
    quality / 10; `_lame_foot`); None when libsndfile cannot encode it or states another quality."""
    if _version(sample_rate) is None or channels not in (1, 2) or not 0 <= quality <= 9:
        return None
    return _lame_foot(sample_rate, channels, lambda coded: coded.vbr_quality == quality,
                      compression_level=quality / 10, bitrate_mode="VARIABLE")


def encoder_cut(path: Path | str) -> float | None:
    """Where the encoder of the MP3 file `path` cut, in Hz: `lame_cut` at its frames' constant bit rate, or
    `lame_vbr_cut` at the quality its Xing header states; None for a variable bit rate of unstated quality, a file
    that is not MP3, or settings LAME cannot be measured at."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16384)
            start = _skip_id3(head)
            if start > len(head) - 4096:  # a large tag (cover art) before the audio: read from its end
                handle.seek(start)
                head = handle.read(16384)
    except OSError:
        return None
    stream = read_stream(head)
    if stream is None:
        return None
    if stream.kbps is not None:
        return lame_cut(stream.sample_rate, stream.channels, stream.kbps)
    if stream.vbr_quality is not None:
        return lame_vbr_cut(stream.sample_rate, stream.channels, stream.vbr_quality)
    return None


def content_ends_under_cut(foot_hz: float, cut_hz: float | None) -> bool:
    """Whether an input's cliff, whose foot lies at `foot_hz`, is the recording's own rather than its encoder's
    (`cut_hz`, None when unknown): it lies more than `ENCODER_MARGIN_HZ` under where the encoder would cut."""
    return cut_hz is not None and foot_hz < cut_hz - ENCODER_MARGIN_HZ
