#!/usr/bin/env bash
# The shipped checkpoint's envelope predictor (run 7 with its phase readout, `nuwave/checkpoints/nuwave-base` at commit
# 024a56d) fine-tuned alone, the diffusion frozen, on targets brought to the model's rate band-limited
# (`--target-resampler band-limited`: `resample_band_limited`, the whole band to the source's Nyquist frequency and
# nothing above, as the benchmark now brings its references to the output's rate). Why: every run before it had its
# targets resampled by soxr, flat only to 93% of the source's Nyquist frequency, so each 44.1 kHz recording reached
# the model empty from about 20.5 kHz while a lossless file is trusted to the model's Nyquist frequency: the predictor
# learnt that 44.1 kHz recordings stop 1.5 kHz under where they do. `train_envelope_sharp.sh` ran the same study
# with the polyphase filter, which lets images through above the source's Nyquist frequency
# (`eval/results/envelope_sharp.md`).
#   python scripts/prepare_data.py --out data      # the corpus first
#   bash scripts/train_envelope_band_limited.sh    # add --resume to continue a stopped run
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-run7
bash scripts/unpack_checkpoint.sh 024a56d "$init"
bash scripts/train_envelope_shares.sh --init-from "$init" --eq-tilt-db 6 --resample-probability 0.5 \
    --run-dir runs/nuwave-envelope-band-limited --target-resampler band-limited --learning-rate 3e-4 \
    --warmup-steps 100 --max-steps 1000 \
    --ema-decay 0.998 --save-every 250 --validate-every 500 "$@"
