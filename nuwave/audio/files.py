"""Audio files in and out (soundfile): validated reading in blocks, and writing that never leaves a partial file."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

READ_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".w64", ".rf64", ".caf"}
# Output container by extension, with the sample formats it may hold.
WRITE_FORMATS = {".wav": ("WAV", ("PCM_16", "PCM_24", "FLOAT")), ".flac": ("FLAC", ("PCM_16", "PCM_24"))}
DEFAULT_SUBTYPE = "PCM_24"
MIN_RATE, MAX_RATE = 8000, 192000
FLAC_MAX_CHANNELS = 8
# Samples beyond this magnitude (+36 dBFS) are not audio but a corrupt float file.
MAX_SAMPLE = 64.0
# A lossy file may decode a little shorter than its header's estimate (encoder delay, frame rounding: an MP3 without
# a gapless tag, whose length is estimated from its size, decodes 90-110 samples short); more than this (samples:
# two MPEG-1 frames, or this fraction of the file) is a truncated file.
LOSSY_SHORTFALL = (2304, 0.02)
# Containers of lossy codecs as libsndfile names them ("MP3" since 1.1, "MPEG" before).
LOSSY_FORMATS = ("MP3", "MPEG", "OGG")
# Encodings whose top band is cut by the encoder (not by the recording): `AudioInfo.lossy`.
LOSSY_SUBTYPES = ("MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS")
# Temporary outputs are named `.<stem>.nuwave-<pid>-<random>.part`: the process id says whose they are, so a later
# run can remove the ones that a killed run left behind.
PART_PREFIX = "nuwave-"


class AudioError(Exception):
    """A file that cannot be used, with the path and the problem: `str(error)` is a one-line message."""

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def lossy(self) -> bool:
        """Whether the file is lossy-coded (MP3, Vorbis, Opus): its cutoff is then the encoder's."""
        return self.subtype in LOSSY_SUBTYPES


def probe(path: os.PathLike | str) -> AudioInfo:
    """Open `path` and check it is audio that nuwave can take; raises `AudioError` otherwise."""
    path = Path(path)
    try:
        if not path.exists():
            raise AudioError(path, "no such file")
        if path.is_dir():
            raise AudioError(path, "is a folder, not an audio file")
        if path.stat().st_size == 0:
            raise AudioError(path, "empty file")
        with open(path, "rb"):
            pass
    except OSError as error:
        raise AudioError(path, f"cannot be read ({error.strerror or error})") from None
    try:
        with quiet_decoder():
            info = sf.info(os.fsencode(path))  # bytes: any name the file system holds, UTF-8 or not
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(path, f"not a readable audio file ({_reason(error)})") from None
    if info.frames <= 0:
        raise AudioError(path, "contains no audio samples")
    missing = missing_bytes(path, info.format)
    if missing:
        raise AudioError(path, f"truncated: the {info.format} header announces {missing} more bytes of audio than "
                               "the file holds")
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise AudioError(path, f"sample rate {info.samplerate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    return AudioInfo(path, info.samplerate, info.channels, info.frames, info.format, info.subtype)


def read_blocks(info: AudioInfo, block_frames: int) -> Iterator[np.ndarray]:
    """Yield the file as consecutive float32 `(C, T)` blocks, checking that every sample is finite.

    Raises `AudioError` for a truncated or corrupt file, for NaN or infinite samples, and for samples beyond
    `MAX_SAMPLE` (a corrupt float file: its level would wreck the level normalisation of everything else).
    """
    seen = 0
    try:
        with quiet_decoder():
            handle = sf.SoundFile(os.fsencode(info.path))
        with handle:
            while True:
                with quiet_decoder():
                    block = handle.read(block_frames, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    break
                if not np.isfinite(block).all():
                    where = seen + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
                    raise AudioError(info.path, f"contains NaN or infinite samples (first at sample {where})")
                peak = float(np.abs(block).max())
                if peak > MAX_SAMPLE:
                    where = seen + int(np.flatnonzero(np.abs(block).max(axis=1) > MAX_SAMPLE)[0])
                    raise AudioError(info.path, f"holds samples of {peak:.3g} (full scale is 1; first at sample "
                                                f"{where}): a corrupt float file")
                seen += block.shape[0]
                yield np.ascontiguousarray(block.T)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(info.path, f"truncated or corrupt after {seen} samples ({_reason(error)})") from None
    if seen == 0:
        raise AudioError(info.path, "contains no audio samples")
    allowed = max(LOSSY_SHORTFALL[0], LOSSY_SHORTFALL[1] * info.frames) if info.format in LOSSY_FORMATS else 0
    if seen < info.frames - allowed:
        raise AudioError(info.path, f"truncated: {seen} of the {info.frames} samples its header announces could "
                                    "be decoded")


def read_audio(path: os.PathLike | str) -> tuple[np.ndarray, int]:
    """The whole file as float32 `(C, T)` and its sample rate (for short files; long ones go through blocks)."""
    info = probe(path)
    return np.concatenate(list(read_blocks(info, 1 << 20)), axis=-1), info.sample_rate


def output_format(path: os.PathLike | str, subtype: str | None, channels: int = 1) -> tuple[str, str]:
    """The (container, subtype) that `path`'s extension and `subtype` ask for; ValueError if they don't fit (or
    the container cannot hold `channels`)."""
    extension = Path(path).suffix.lower()
    if extension not in WRITE_FORMATS:
        raise ValueError(f"{path}: output must end in {' or '.join(WRITE_FORMATS)}")
    container, subtypes = WRITE_FORMATS[extension]
    subtype = (subtype or DEFAULT_SUBTYPE).upper()
    if subtype not in subtypes:
        raise ValueError(f"{path}: {container} cannot hold {subtype}; choose one of {', '.join(subtypes)}")
    if container == "FLAC" and channels > FLAC_MAX_CHANNELS:
        raise ValueError(f"{path}: FLAC holds at most {FLAC_MAX_CHANNELS} channels and the input has {channels}; "
                         "write WAV instead (an output ending in .wav, or --format wav)")
    return container, subtype


@contextmanager
def quiet_decoder():
    """Keep what decoders print straight to the process's stderr (libmpg123's "Note: Illegal Audio-MPEG-Header")
    off the user's terminal: file descriptor 2 points at /dev/null meanwhile. Python's own sys.stderr is
    flushed first, so nothing of ours is lost."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (an embedding host): nothing to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def remove_stale_parts(folder: Path) -> None:
    """Remove temporary outputs in `folder` left by nuwave runs that are gone (killed before they could)."""
    try:
        candidates = list(folder.glob(f".*.{PART_PREFIX}*.part"))
    except OSError:
        return
    for candidate in candidates:
        owner = candidate.name.rsplit(f".{PART_PREFIX}", 1)[-1].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or _alive(int(owner)):
            continue
        try:
            candidate.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


@contextmanager
def atomic_writer(path: os.PathLike | str, sample_rate: int, channels: int, subtype: str | None = None):
    """Write audio blocks to a hidden temporary file beside `path`, renamed to `path` only when the `with` block
    completes. On any exception (Ctrl-C included) the temporary file is removed and `path` is untouched; a write
    that fails (a full disk, a folder that cannot be written) raises `AudioError` naming `path`.

    Yields a function `write(block)` taking float `(C, T)` blocks; integer formats clip to [-1, 1]; a block
    with NaN or infinite samples is refused.
    """
    path = Path(path)
    container, subtype = output_format(path, subtype, channels)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(folder)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.stem}.{PART_PREFIX}{os.getpid()}-", suffix=".part",
                                                 dir=folder)
        os.close(descriptor)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; the result is an ordinary file
    except OSError as error:
        raise AudioError(folder, f"cannot write to this folder ({error.strerror or error})") from None
    handle = None
    try:
        try:
            handle = sf.SoundFile(temporary, "w", sample_rate, channels, subtype=subtype, format=container)
        except (sf.LibsndfileError, RuntimeError, OSError) as error:
            raise _write_error(path, error) from None

        def write(block: np.ndarray) -> None:
            block = np.asarray(block, dtype=np.float32)
            if not np.isfinite(block).all():
                raise AudioError(path, "the result holds NaN or infinite samples; nothing was written")
            if subtype != "FLOAT":
                block = np.clip(block, -1.0, 1.0)
            try:
                handle.write(block.T)
            except (sf.LibsndfileError, RuntimeError, OSError) as error:
                raise _write_error(path, error) from None

        yield write
        try:
            handle.close()
            os.replace(temporary, path)
        except (sf.LibsndfileError, RuntimeError, OSError) as error:
            raise _write_error(path, error) from None
    except BaseException:
        if handle is not None and not handle.closed:
            try:
                handle.close()
            except (sf.LibsndfileError, RuntimeError, OSError):
                pass
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_error(path: Path, error: Exception) -> AudioError:
    """A failed write as a one-line error; says so when the disk is full (libsndfile only says "System error")."""
    reason = getattr(error, "strerror", None) or _reason(error)
    try:
        if shutil.disk_usage(path.parent).free < (1 << 20):
            reason = "no space left on the disk"
    except OSError:
        pass
    return AudioError(path, f"could not be written ({reason}); nothing was left under that name")


def _chunk_missing(path: Path, data_id: bytes, header: int, id_size: int, size_bytes: int, order: str,
                   size_includes_header: bool) -> int:
    """How many bytes of the audio chunk `data_id` are missing from a chunked file (0 when complete or unknown).

    Chunks are `id_size` bytes of id and `size_bytes` of size (`order` endian), after `header` bytes of file
    header. libsndfile silently reads a truncated file as a shorter one; the chunk's declared size tells."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(header)
        while True:
            head = handle.read(id_size + size_bytes)
            if len(head) < id_size + size_bytes:
                return 0
            chunk, length = head[:id_size], int.from_bytes(head[id_size:], order)
            payload = length - (id_size + size_bytes if size_includes_header else 0)
            if chunk.startswith(data_id):
                if length in (0, 0xFFFFFFFF, 2**64 - 1):  # a streaming writer that never went back
                    return 0
                return max(0, handle.tell() + payload - size)
            if payload < 0:
                return 0
            handle.seek(payload + (payload & 1 if id_size == 4 else (-payload) % 8), os.SEEK_CUR)


def _rf64_missing_bytes(path: Path) -> int:
    """RF64: the data size lives in the 'ds64' chunk (the 'data' chunk's own size field is 0xFFFFFFFF)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(4) != b"RF64":
            return 0
        handle.seek(12)
        ds64 = handle.read(8 + 24)
        if ds64[:4] != b"ds64":
            return 0
        data_size = int.from_bytes(ds64[16:24], "little")
        handle.seek(12)
        while True:
            head = handle.read(8)
            if len(head) < 8:
                return 0
            chunk, length = head[:4], int.from_bytes(head[4:], "little")
            if chunk == b"data":
                return max(0, handle.tell() + data_size - size)
            handle.seek(length + (length & 1), os.SEEK_CUR)


# libsndfile's format name -> the layout of its chunks: magic, audio chunk id, file header bytes, chunk id bytes,
# chunk size bytes, byte order, and whether a chunk's size counts its own header (Wave64 ids are 16-byte GUIDs).
CHUNK_LAYOUTS = {"WAV": (b"RIFF", b"data", 12, 4, 4, "little", False),
                 "WAVEX": (b"RIFF", b"data", 12, 4, 4, "little", False),
                 "AIFF": (b"FORM", b"SSND", 12, 4, 4, "big", False),
                 "W64": (b"riff", b"data", 40, 16, 8, "little", True)}


def missing_bytes(path: Path, container: str) -> int:
    """How many bytes of audio a WAV, AIFF, W64 or RF64 file lacks against its header (0 for other formats)."""
    if container == "RF64":
        return _rf64_missing_bytes(path)
    if container not in CHUNK_LAYOUTS:
        return 0
    magic, *layout = CHUNK_LAYOUTS[container]
    with open(path, "rb") as handle:
        if handle.read(4) != magic:
            return 0
    return _chunk_missing(path, *layout)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.split(": ", 1)[-1] if text.startswith("Error opening") else text
