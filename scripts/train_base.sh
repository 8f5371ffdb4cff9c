#!/usr/bin/env bash
# The training command of the shipped checkpoint `checkpoints/nuwave-base` (see its model card).
#   python scripts/prepare_data.py --out data    # the corpus first
#   bash scripts/train_base.sh                   # add --resume to continue a stopped run
# One process on CPU as shipped; `accelerate launch -m nuwave.train` with the same options on GPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m nuwave.train \
    --data data/speech_train.jsonl --data data/music_train.jsonl --balance entries \
    --run-dir runs/nuwave-base --batch-size 16 --learning-rate 5e-4 --warmup-steps 300 --max-steps 5600 \
    --save-every 250 --validate-every 250 --log-every 25 --validation-segments 32 --num-workers 2 "$@"
