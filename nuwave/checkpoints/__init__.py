"""The models shipped with nuwave, found by name: `nuwave upsample --model nuwave-base`,
`NuWavePipeline.from_pretrained("nuwave-base")`. Each is a `save_pretrained` folder installed with the package."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
DEFAULT_MODEL = "nuwave-base"


def shipped_names() -> list[str]:
    """The names of the shipped models."""
    return sorted(path.name for path in FOLDER.iterdir() if (path / "model_index.json").is_file())


def resolve(name_or_path: str | os.PathLike) -> str:
    """A folder that exists as given wins; else the name of a shipped model gives its folder; anything else is
    returned unchanged (for diffusers, a hub id)."""
    given = os.fspath(name_or_path)
    if os.path.isdir(given):
        return given
    if given in shipped_names():
        return str(FOLDER / given)
    return given
