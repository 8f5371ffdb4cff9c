"""The README's headline table from committed benchmark reports: per setting, sinc against nuwave at a step
count (LSD, its ratio to sinc's, LSD-HF, SNR and its difference to sinc's, RTF), mean ± std over the report's seeds.

    python scripts/headline.py eval/results/speech/results.json eval/results/music/results.json --steps 8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nuwave.benchmark.tables import headline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    print("\n".join(headline([json.loads(path.read_text()) for path in args.results], args.steps)))


if __name__ == "__main__":
    main()
