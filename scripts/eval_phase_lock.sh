#!/usr/bin/env bash
# The benchmark with `--phase-lock` (the band's deterministic part from the input's odd excitation, not the model's
# estimate): every suite at 8 steps, 2 seeds, into eval/results/phase_lock/, and its targets table, to set beside
# the default's (`bash scripts/eval_base.sh`, eval/results/targets.md). Needs the corpus (python
# scripts/prepare_data.py --out data).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
model=${MODEL:-nuwave-base}
reports=()
for suite in speech music speech-pauses stereo; do
    "$python" -m nuwave.cli eval --suite "$suite" --model "$model" --steps 8 --runs 2 --phase-lock \
        --out "eval/results/phase_lock/$suite" -q
    reports+=("eval/results/phase_lock/$suite")
done
"$python" scripts/check_targets.py "${reports[@]}" --steps 8 > eval/results/phase_lock/targets.md
