#!/usr/bin/env bash
# Run 6's envelope predictor (the checkpoint of commit e5a099d) fine-tuned alone, the diffusion frozen, with half
# of its training conditions made as most low-rate files are made: a plain sample-rate conversion
# (`--resample-probability 0.5`, `nuwave.audio.degrade.random_degradation`), the other half through the random
# low-passes as before (order 2-10, Chebyshev, Butterworth, elliptic or Bessel). Why: run 6 learnt the band's level
# against an input top that a low-order low-pass had often already taken several dB off; given a sharp cut (a
# resampler's, the benchmark's Chebyshev I of order 8) it puts the band higher than given a soft one. On 30 of its own
# lossless training voices from a 4 kHz cutoff its predicted octave above lies 2.0-2.1 dB over the reference's after
# a sharp low-pass or the resampler alone and 0.2 dB over after a zero-phase Butterworth of order 2; 0.3 / 1.1 /
# 0.5 dB against -2.2 / -1.4 / -1.9 from 6 / 8 / 12 kHz (`python scripts/envelope_bias.py --model nuwave-base
# --voices 30`); on held-out speech from 8 kHz it put 6 of 12 files' bands more than 3 dB over the reference's (as
# many after this run: `eval/results/snr_breakdown.md`).
#   python scripts/prepare_data.py --out data                 # the corpus first
#   bash scripts/train_envelope_resampled.sh                  # add --resume to continue a stopped run
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-run6
bash scripts/unpack_checkpoint.sh e5a099d "$init"
bash scripts/train_envelope_shares.sh --init-from "$init" --eq-tilt-db 6 --resample-probability 0.5 \
    --run-dir runs/nuwave-envelope-resampled --learning-rate 5e-4 --warmup-steps 100 --max-steps 2000 \
    --ema-decay 0.998 --save-every 250 --validate-every 500 "$@"
