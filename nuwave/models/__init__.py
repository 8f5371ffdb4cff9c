"""Denoiser networks."""

from nuwave.models.denoiser import NuWaveDenoiser

__all__ = ["NuWaveDenoiser"]
