"""Training the phase lock's readout (`nuwave.models.readout.PhaseReadout`) for a model folder.

The objective is the benchmark's band coherence: the correlation of the mixed band with the reference in each
envelope band above the cutoff and frame, weighed by the reference's power there. Each cell's correlation of any
mix reduces to a few sums (each excitation against the reference, the excitations against each other, the
reference's power), so a file is turned into those sums once (`readout_cells`, through the pipeline's own
`phase_lock_excitations`: the same resampling, level, excitations and STFT as at sampling), and an epoch over
hundreds of files takes seconds. The envelope the excitations are brought to does not enter the correlation of a
cell; they are brought to the reference's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from nuwave.audio.degrade import Degradation
from nuwave.audio.dsp import level_gain, resample
from nuwave.inference.pipeline import lock_residual, residual_mix
from nuwave.models.envelope import band_log_power, band_membership, generated_bins
from nuwave.models.readout import PhaseReadout


@dataclass
class ReadoutCells:
    """One file at one input rate: the readout's `features` `(bands, frames)`, the cutoff over the Nyquist
    frequency, and per band and frame the sums its coherence is made of: `cross` `(bands, frames, 2)` (each
    excitation against the reference), `gram` `(bands, frames, 2, 2)` (the excitations against each other) and
    `power` `(bands, frames)` (the reference's, over the bins above the cutoff)."""

    features: torch.Tensor
    bandwidth: float
    cross: torch.Tensor
    gram: torch.Tensor
    power: torch.Tensor


@torch.no_grad()
def readout_cells(pipe, readout: PhaseReadout, reference: np.ndarray, rate: int) -> ReadoutCells:
    """`reference` `(T,)` at the model's rate, degraded to `rate` by the standard protocol and prepared as the
    pipeline prepares a mono input (`NuWavePipeline.__call__`, `_sample`) -> its `ReadoutCells`."""
    model_rate = pipe.model_rate
    denoiser = pipe.denoiser
    length = reference.shape[-1]
    low, _ = Degradation("standard", rate).apply(reference, model_rate)
    cond = torch.from_numpy(resample(low, rate, model_rate, length)).float()[None, None]
    gain = level_gain(cond)
    cond = cond * gain
    residual = lock_residual(low, rate, rate / 2, model_rate, length)
    if residual is not None:
        residual = torch.from_numpy(residual).float()[None, None] * gain
    band = torch.tensor([rate / model_rate], dtype=torch.float32)
    target = denoiser.spectrum(torch.from_numpy(reference).float()[None, None] * gain)
    bands = readout.config.bands
    envelope, _ = band_log_power(target.abs().square(), band, bands)
    own, second = pipe.phase_lock_excitations(cond, band, envelope, residual=residual)
    if second is None:
        second = torch.zeros_like(own)
    cells = band_membership(target.shape[1], bands) * generated_bins(band, target.shape[1])  # (bands, bins)
    both = torch.stack([own[0], second[0]], dim=-1)  # (bins, frames, 2)
    per_band = lambda values: (cells.to(values.dtype) @ values.reshape(values.shape[0], -1)).reshape(
        bands, *values.shape[1:])  # (bins, frames, ...) summed over each band's bins above the cutoff
    cross = per_band(both * target[0].conj()[:, :, None])
    gram = per_band(both[:, :, :, None] * both.conj()[:, :, None, :])
    power = per_band(target[0].abs().square())
    features = readout.features(denoiser.spectrum(cond).abs().square())[0]
    return ReadoutCells(features, rate / model_rate, cross, gram, power)


def cell_weights(readout: PhaseReadout | None, cells: ReadoutCells, model_rate: int) -> torch.Tensor:
    """`(bands, frames, 2)` complex weights of the two excitations: the fixed mix at the cutoff, plus the
    readout's changes when given (wherever the cutoff lies: the range it is applied to is chosen after)."""
    own, other = residual_mix(cells.bandwidth * model_rate / 2)
    bands, frames = cells.power.shape
    weights = torch.tensor([float(own), float(other)], dtype=torch.complex64).expand(bands, frames, 2)
    if readout is not None:
        bandwidth = torch.tensor([cells.bandwidth], dtype=torch.float32)
        weights = weights + readout(cells.features[None], bandwidth)[0].permute(0, 2, 1)
    return weights


def coherence(weights: torch.Tensor, cells: ReadoutCells) -> torch.Tensor:
    """The band's correlation with the reference when its excitations are mixed by `weights` `(bands, frames, 2)`
    and brought to the reference's power per band and frame: the reference-power-weighted mean of each cell's.

    Cells where the reference or the mixed band is silent count for nothing; the sums are taken in double precision,
    where the gradient of a cell whose mix is nearly silent stays finite (in single precision it overflowed)."""
    weights = weights.to(torch.complex128)
    power = cells.power.double()
    cross = (weights * cells.cross.to(torch.complex128)).sum(-1).real
    mixed = torch.einsum("ctk,ctkl,ctl->ct", weights, cells.gram.to(torch.complex128), weights.conj()).real
    valid = (power > 0) & (mixed > 0)
    rho = torch.where(valid, cross / torch.where(valid, mixed * power, 1.0).sqrt(), 0.0)
    return ((power * rho).sum() / power.sum().clamp_min(1e-300)).float()


def train_readout(readout: PhaseReadout, data: list[ReadoutCells], model_rate: int, epochs: int, seed: int = 0,
                  learning_rate: float = 3e-4, guarded: Sequence[ReadoutCells] = (), guard_weight: float = 1.0
                  ) -> None:
    """Adam on minus the coherence, one file and rate at a time, in an order `seed` sets.

    `guarded` (music: a band with no phase to gain) only keeps its coherence from falling under the fixed mix's:
    its loss is `guard_weight` times that fall, nothing where the readout does as well or better. Rewarding its
    coherence instead fits the files trained on and gains less on voices never seen."""
    optimizer = torch.optim.Adam(readout.parameters(), learning_rate)
    order = np.random.default_rng(seed)
    with torch.no_grad():  # each item with the coherence a guarded one may not fall under (None: to maximise)
        items = [(cells, None) for cells in data] + [
            (cells, coherence(cell_weights(None, cells, model_rate), cells)) for cells in guarded]
    readout.train()
    for _ in range(epochs):
        for index in order.permutation(len(items)):
            cells, floor = items[index]
            achieved = coherence(cell_weights(readout, cells, model_rate), cells)
            loss = -achieved if floor is None else guard_weight * torch.relu(floor - achieved)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    readout.eval()


@torch.no_grad()
def mean_coherence(readout: PhaseReadout | None, data: list[ReadoutCells], model_rate: int) -> float:
    """The mean over `data` of `coherence` with the fixed mix (`readout` None) or the readout's weights."""
    return float(np.mean([float(coherence(cell_weights(readout, cells, model_rate), cells)) for cells in data]))
