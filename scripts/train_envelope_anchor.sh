#!/usr/bin/env bash
# Run 5 of the shipped checkpoint `nuwave-base` (its model card): run 4 (`bash scripts/train_envelope_shares.sh`,
# shipped at commit aa3a9d9) with its envelope predictor's anchor changed from the frame's mean log power to the
# blend (`nuwave.models.envelope.ENVELOPE_ANCHORS`): the frame's mean moved towards the input's top by a learned
# share per band and frame, which starts at 0, so the predictor starts as run 4's; it is fine-tuned alone, the
# diffusion frozen, on run 4's shares. Why: per frame, the band above the cutoff rises and falls with the input's
# top octave (a hi-hat's attack and decay, a sibilant), which the frame's mean over all bins follows far less;
# anchored there, run 4 put hi-hat attacks 15-29 dB under the reference for ~150 ms and their decays up to 20 dB
# over it.
#   python scripts/prepare_data.py --out data      # the corpus first
#   bash scripts/train_envelope_anchor.sh          # add --resume to continue a stopped run
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-run4
bash scripts/unpack_checkpoint.sh aa3a9d9 "$init"
exec bash scripts/train_envelope_shares.sh --init-from "$init" --envelope-anchor blend \
    --run-dir runs/nuwave-envelope-blend --learning-rate 5e-4 --warmup-steps 100 --max-steps 2000 \
    --ema-decay 0.998 --save-every 250 --validate-every 500 "$@"
