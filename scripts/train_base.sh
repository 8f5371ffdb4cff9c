#!/usr/bin/env bash
# The training command of the shipped checkpoint `checkpoints/nuwave-base` (see its model card).
#   python scripts/prepare_data.py --out data    # the corpus first
#   bash scripts/train_base.sh                   # add --resume to continue a stopped run
# One process on CPU as shipped; `accelerate launch -m nuwave.cli.train` with the same options on GPUs.
#
# The run starts from the previous shipped checkpoint (commit 2a9ed84, 5,600 steps on this corpus without the
# announcer speech; its command was this script at that commit), whose denoiser it keeps, adds an envelope
# predictor to, and trains further with pauses, room tone, levels down to -40 dB and mid / side examples.
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-previous
bash scripts/unpack_checkpoint.sh 2a9ed84 "$init"
exec "${PYTHON:-.venv/bin/python}" -m nuwave.cli.train \
    --data data/speech_train_lossless.jsonl --data data/speech_train_lossy.jsonl --data data/music_train.jsonl \
    --balance entries --init-from "$init" --codec-probability 0.3 \
    --envelope-bands 32 --pause-probability 0.3 --silence-db -80 --gain-db -40 \
    --run-dir runs/nuwave-base --batch-size 16 --learning-rate 3e-4 --warmup-steps 200 --max-steps 5000 \
    --save-every 250 --validate-every 500 --log-every 25 --validation-segments 32 --num-workers 2 --target-resampler soxr "$@"
