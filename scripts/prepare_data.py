"""Build the training / test corpus from Debian packages (see `nuwave/corpus.py` for the recipe).

    apt-get install fluidsynth          # renders the MIDI sources
    python scripts/prepare_data.py --out data
    python scripts/prepare_data.py --out data --only megaglest-data   # one source

Writes data/audio/<package>/*.flac, data/manifest.jsonl and per kind and split data/{speech,music}_{train,test}
.jsonl (for `nuwave train --data`) and .txt (for benchmark suites). Nothing of it is committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nuwave.corpus import SOURCES, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--only", action="append", help="a package name from the recipe (repeatable)")
    args = parser.parse_args()
    sources = tuple(s for s in SOURCES if not args.only or s.package in args.only)
    manifest = build(args.out, sources)
    print(f"wrote {manifest}")


if __name__ == "__main__":
    main()
