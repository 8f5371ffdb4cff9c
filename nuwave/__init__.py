"""nuwave: restore the high frequencies of band-limited audio with conditional waveform diffusion.

The heavy classes load on first use, so that `import nuwave` (and `nuwave --help`) stays instant.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "NuWaveDenoiser": "nuwave.models.denoiser",
    "NuWavePipeline": "nuwave.inference.pipeline",
    "NuWaveOutput": "nuwave.inference.pipeline",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nuwave' has no attribute {name!r}")
