#!/usr/bin/env bash
# Run 6 of the shipped checkpoint `nuwave-base` (its model card): run 5 (`bash scripts/train_envelope_anchor.sh`,
# shipped at commit 2f14ad5) with its envelope predictor fine-tuned alone, the diffusion frozen, on run 4's shares
# with every training segment through a random spectral tilt (`--eq-tilt-db`, `nuwave.audio.degrade.random_tilt`):
# 2,000 steps at up to 3 dB per octave either way above a 2-8 kHz corner, then 2,000 more at up to 6 dB. Why: on
# held-out drums the predictor put a soft closed hi-hat 13-15 dB under its band, a band that stays level above the
# input's top, because the hi-hats it learned from fall there; a predictor that has seen each sound brighter and
# duller learns the band from the slope the input shows rather than from what such a sound usually has, which is
# what audio from other microphones, rooms and mixes needs.
#   python scripts/prepare_data.py --out data      # the corpus first
#   bash scripts/train_envelope_tilt.sh            # add --resume to continue a stopped run
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-run5
bash scripts/unpack_checkpoint.sh 2f14ad5 "$init"
stage() {  # stage INIT TILT RUN_DIR [options]
    local from=$1 tilt=$2 run=$3
    shift 3
    bash scripts/train_envelope_shares.sh --init-from "$from" --eq-tilt-db "$tilt" --run-dir "$run" \
        --learning-rate 5e-4 --warmup-steps 100 --max-steps 2000 --ema-decay 0.998 --save-every 250 \
        --validate-every 500 "$@"
}
stage "$init" 3 runs/nuwave-envelope-tilt "$@"
stage runs/nuwave-envelope-tilt/export 6 runs/nuwave-envelope-tilt6 "$@"
