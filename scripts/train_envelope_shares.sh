#!/usr/bin/env bash
# Run 4 of the shipped checkpoint `nuwave-base` (its model card): run 3's envelope predictor (`bash
# scripts/train_envelope.sh`, shipped at commit 64d4401) fine-tuned alone, the diffusion frozen, on shares that
# give real instruments their weight. In run 3 music was one share drawn by length, so the MIDI renders (openttd,
# simutrans: 3.4 hours) made 2/3 of it and the recorded drums, cymbals and guitars (hydrogen: 23 minutes) 7%:
# the predictor learned the renders' bright top and put recorded hi-hats and cymbals 5-20 dB under their level.
# Here music is three equal shares (recorded drums and guitars; the recorded orchestra; the renders) beside the
# three speech shares of run 3.
#   python scripts/prepare_data.py --out data      # the corpus first
#   bash scripts/train_envelope_shares.sh          # add --resume to continue a stopped run
set -euo pipefail
cd "$(dirname "$0")/.."
init=runs/nuwave-base-run3
bash scripts/unpack_checkpoint.sh 64d4401 "$init"
# One manifest per share: the packages of a share, from the corpus manifests.
share() {  # share NAME MANIFEST PACKAGE...
    local name=$1 manifest=$2
    shift 2
    grep -E "\"package\": \"($(IFS='|'; echo "$*"))\"" "$manifest" > "data/train_share_$name.jsonl"
}
share voices-lossless data/speech_train_lossless.jsonl megaglest-data openarena-081-misc
share voices-0ad data/speech_train_lossy.jsonl 0ad-data
share voices-tuxpaint data/speech_train_lossy.jsonl tuxpaint-stamps-default
share drums data/music_train.jsonl hydrogen-drumkits hydrogen-drumkits-effects
share orchestra data/music_train.jsonl wesnoth-1.16-music
share renders data/music_train.jsonl openttd-openmsx simutrans-data
data=()
for name in voices-lossless voices-0ad voices-tuxpaint drums orchestra renders; do
    data+=(--data "data/train_share_$name.jsonl")
done
exec "${PYTHON:-.venv/bin/python}" -m nuwave.cli.train "${data[@]}" \
    --balance entries --init-from "$init" --train-only envelope --codec-probability 0.3 \
    --pause-probability 0.3 --silence-db -80 --gain-db -40 \
    --run-dir runs/nuwave-envelope-shares --batch-size 32 --learning-rate 5e-4 --warmup-steps 100 \
    --max-steps 3000 --save-every 200 --validate-every 1000 --log-every 25 --validation-segments 32 \
    --num-workers 2 --target-resampler soxr "$@"
