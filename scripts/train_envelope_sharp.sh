#!/usr/bin/env bash
# A study, not shipped (`eval/results/envelope_sharp.md`): the shipped checkpoint's envelope predictor (run 7 with its
# phase readout, `nuwave/checkpoints/nuwave-base` at commit 024a56d) fine-tuned alone, the diffusion frozen, on
# targets resampled to the model's rate by the sharp filter (`--target-resampler sharp`: `resample_sharp`, flat to
# 97.5% of the source's Nyquist frequency). Why: every shipped run's targets went through soxr, flat only to 93% of
# it, so each 44.1 kHz recording reached the model empty from about 20.5 kHz, and a lossless file is trusted to the
# model's Nyquist frequency: the predictor learnt that 44.1 kHz recordings stop 1.5 kHz under where they do. At
# 44.1 kHz output the band of held-out game voices lay 10-20 dB under the reference's from 21 to 21.5 kHz and
# 27-40 dB under from 21.5 kHz.
#   python scripts/prepare_data.py --out data      # the corpus first
#   bash scripts/train_envelope_sharp.sh           # add --resume to continue a stopped run
set -euo pipefail
cd "$(dirname "$0")/.."
# The same run as train_envelope_band_limited.sh but for its run folder and target resampler (a later option wins).
exec bash scripts/train_envelope_band_limited.sh --run-dir runs/nuwave-envelope-sharp --target-resampler sharp "$@"
