#!/usr/bin/env bash
# Unpack the shipped checkpoint `nuwave-base` as a commit had it into FOLDER (relative to the repository; once, an
# unpacked folder is kept): where a training run that continues an earlier one starts.
#   bash scripts/unpack_checkpoint.sh COMMIT FOLDER
set -euo pipefail
commit=$1 folder=$2
cd "$(dirname "$0")/.."
if [ -f "$folder/model_index.json" ]; then
    exit 0
fi
# The checkpoint moved into the package (nuwave/checkpoints/) after commit 2a9ed84.
for path in nuwave/checkpoints/nuwave-base checkpoints/nuwave-base; do
    if [ -n "$(git ls-tree "$commit" "$path" 2>/dev/null)" ]; then
        mkdir -p "$folder"
        git archive "$commit" "$path" | tar -x -C "$folder" --strip-components=$(( $(tr -cd / <<< "$path" | wc -c) + 1 ))
        exit 0
    fi
done
echo "unpack_checkpoint.sh: commit $commit holds no nuwave-base checkpoint" >&2
exit 1
