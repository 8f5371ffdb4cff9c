#!/usr/bin/env bash
# The committed benchmark reports of the shipped checkpoint (eval/results/{speech,music}/) and the README's
# headline table and figure. Needs the corpus (python scripts/prepare_data.py --out data).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
model=${MODEL:-checkpoints/nuwave-base}
for suite in speech music; do
    "$python" -m nuwave.cli eval --suite "$suite" --model "$model" --steps 1,2,4,8,16,32 --runs 3 \
        --out "eval/results/$suite"
done
"$python" scripts/headline.py eval/results/speech/results.json eval/results/music/results.json --steps 8 \
    > eval/results/headline.md
"$python" scripts/readme_figure.py --data data --model "$model" -o eval/results/readme_figure.png
