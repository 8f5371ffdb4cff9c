#!/usr/bin/env bash
# The benchmark with the phase lock forced either way, to set beside the default (`bash scripts/eval_base.sh`,
# eval/results/targets.md; the default locks a rate's cutoff and not a codec's): every suite at 8 steps, 2 seeds,
# with `--phase-lock` (everywhere) into eval/results/phase_lock/ and with `--no-phase-lock` (the model's own
# estimate everywhere) into eval/results/no_phase_lock/, each with its targets table. Needs the corpus (python
# scripts/prepare_data.py --out data).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
model=${MODEL:-nuwave-base}
# SETTINGS=phase-lock runs one half (the other's reports do not depend on a change to the lock alone);
# SETTINGS=fixed-mix the default lock with its fixed mix instead of the model's phase readout (`--fixed-mix`), into
# eval/results/fixed_mix/: what the readout adds.
for setting in ${SETTINGS:-phase-lock no-phase-lock}; do
    folder="eval/results/${setting//-/_}"
    reports=()
    for suite in speech music speech-pauses stereo speech-44k; do
        "$python" -m nuwave.cli eval --suite "$suite" --model "$model" --steps 8 --runs 2 "--$setting" \
            --out "$folder/$suite" -q
        reports+=("$folder/$suite")
    done
    "$python" scripts/check_targets.py "${reports[@]}" --steps 8 > "$folder/targets.md"
done
