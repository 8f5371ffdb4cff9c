"""The model: the denoiser network, the envelope of the missing band, and the noise schedule and samplers.

`NuWaveDenoiser` loads on first use, so that importing the light modules here (`schedule`) stays instant.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ENVELOPE_ANCHORS", "NuWaveDenoiser"]

# Where the envelope predictor anchors its log band power (`nuwave.models.envelope`, which says what each means).
ENVELOPE_ANCHORS = ("blend", "input-top", "frame-mean")


def __getattr__(name: str) -> Any:
    if name == "NuWaveDenoiser":
        from nuwave.models.denoiser import NuWaveDenoiser

        return NuWaveDenoiser
    raise AttributeError(f"module 'nuwave.models' has no attribute {name!r}")
