"""Build the training / test corpus from Debian packages (see `nuwave/corpus/recipe.py` for the recipe).

    apt-get install fluidsynth          # renders the MIDI sources
    python scripts/prepare_data.py --out data
    python scripts/prepare_data.py --out data --only megaglest-data   # one source
    python scripts/prepare_data.py --out data --summary               # the table of an existing corpus

Writes data/audio/<package>/*.flac, data/manifest.jsonl and per kind and split data/{speech,music}_{train,test}
.jsonl (for `nuwave train --data`; also split into _lossless / _lossy) and .txt (for benchmark suites), and the
speech-pauses and stereo benchmark sets (`nuwave/corpus/benchmark_sets.py`). Nothing of it is committed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from nuwave.benchmark.tables import markdown_table
from nuwave.corpus.benchmark_sets import benchmark_source, build_sets, content_top
from nuwave.corpus.recipe import SOURCES, build, manifest_entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--only", action="append", help="a package name from the recipe (repeatable)")
    parser.add_argument("--summary", action="store_true", help="print the corpus table of an existing manifest")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if not args.summary:
        sources = tuple(s for s in SOURCES if not args.only or s.package in args.only)
        print(f"wrote {build(args.out, sources)}")
        for name, manifest in build_sets(args.out).items():
            print(f"wrote the {name} benchmark set: {manifest}")
    summary(args.out)


def summary(folder: Path) -> None:
    """A Markdown table per source package: kind, licence, files and minutes per split, bandwidth (the cutoff),
    content top, trusted band, benchmark files."""
    entries = manifest_entries(folder)
    benchmark = {kind: (folder / f"{kind}_benchmark.txt").read_text().split() for kind in ("speech", "music")}
    rows = []
    for package in dict.fromkeys(e["package"] for e in entries):
        mine = [e for e in entries if e["package"] == package]
        split = {s: [e for e in mine if e["split"] == s] for s in ("train", "test")}
        paths = {e["path"] for e in mine}
        chosen = sum(1 for path in benchmark[mine[0]["kind"]] if benchmark_source(path) in paths)
        rows.append([package, mine[0]["kind"], mine[0]["licence"], len(split["train"]),
                     f"{sum(e['seconds'] for e in split['train']) / 60:.1f}", len(split["test"]),
                     f"{sum(e['seconds'] for e in split['test']) / 60:.1f}",
                     f"{np.median([e['bandwidth_hz'] for e in mine]) / 1000:.1f}",
                     f"{np.median([content_top(e) for e in mine]) / 1000:.1f}",
                     f"{np.median([e['trusted_hz'] for e in mine]) / 1000:.1f}", chosen])
    header = ["package", "kind", "licence", "train files", "train min", "test files", "test min",
              "median bandwidth (kHz)", "median content top (kHz)", "trusted to (kHz)", "benchmark files"]
    print("\n".join(markdown_table(header, rows)))


if __name__ == "__main__":
    main()
