#!/usr/bin/env bash
# Run 3 of the shipped checkpoint `nuwave-base` (its model card; run 4 is scripts/train_envelope_shares.sh): the
# envelope predictor of run 2's model (`bash scripts/train_base.sh`, shipped at commit f40ca01) retrained alone,
# the diffusion frozen, with dilated blocks (about 230 ms of context), a loss that also holds each band's power
# over the segment, and the 0 A.D. voice actors beside the other speech.
#   python scripts/prepare_data.py --out data    # the corpus first
#   bash scripts/train_envelope.sh               # add --resume to continue a stopped run
# Speech comes as three equal shares (lossless voices; the 0 A.D. voices; the Tux Paint voices) beside music.
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-stage1
bash scripts/unpack_checkpoint.sh f40ca01 "$init"
# One manifest per voice source among the lossy speech, so each --data entry is one share.
for package in 0ad-data tuxpaint-stamps-default; do
    grep "\"package\": \"$package\"" data/speech_train_lossy.jsonl > "data/speech_train_$package.jsonl"
done
exec "${PYTHON:-.venv/bin/python}" -m nuwave.cli.train \
    --data data/speech_train_lossless.jsonl --data data/speech_train_0ad-data.jsonl \
    --data data/speech_train_tuxpaint-stamps-default.jsonl --data data/music_train.jsonl \
    --balance entries --init-from "$init" --train-only envelope --envelope-dilation 2 --codec-probability 0.3 \
    --pause-probability 0.3 --silence-db -80 --gain-db -40 \
    --run-dir runs/nuwave-envelope --batch-size 32 --learning-rate 1e-3 --warmup-steps 100 \
    --max-steps 4000 --save-every 200 --validate-every 1000 --log-every 25 --validation-segments 32 \
    --num-workers 2 --target-resampler soxr "$@"
