#!/usr/bin/env bash
# The committed benchmark reports of the shipped checkpoint
# (eval/results/{speech,music,speech-pauses,stereo,speech-44k}/; speech-44k: the held-out voices at 44.1 kHz output),
# the targets table, and the README's headline table and figure. Needs the corpus (python scripts/prepare_data.py
# --out data, which also builds the speech-pauses and stereo sets).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
model=${MODEL:-nuwave-base}
runs=${RUNS:-2}
for suite in speech music; do
    "$python" -m nuwave.cli eval --suite "$suite" --model "$model" --steps 1,2,4,8,16,32 --runs "$runs" \
        --out "eval/results/$suite"
done
for suite in speech-pauses stereo speech-44k; do
    "$python" -m nuwave.cli eval --suite "$suite" --model "$model" --steps 8 --runs "$runs" --out "eval/results/$suite"
done
reports="eval/results/speech eval/results/music eval/results/speech-pauses eval/results/stereo eval/results/speech-44k"
"$python" scripts/check_targets.py $reports --steps 8 > eval/results/targets.md
"$python" scripts/headline.py $(for r in $reports; do echo "$r/results.json"; done) --steps 8 \
    > eval/results/headline.md
"$python" scripts/readme_figure.py --data data --model "$model" -o eval/results/readme_figure.png
