"""Train the phase lock's readout (`nuwave.models.readout.PhaseReadout`) for a model folder and save the folder with
it, where it helps: a table of the band's coherence per kind and input rate, written as markdown to stdout.

The readout is trained on the training split's lossless voices whose content reaches `--min-content-hz` and that
last `--min-seconds` or more (`--voices` of them, each's first `--seconds`) at five input rates, all but every
`--validation-every`-th voice, which are kept aside with `--music` of the training split's lossless music files
(reaching 19 kHz, 0.8 s or more). Lossless voices are few (megaglest's unit voices, openarena's announcer),
so the short lines (from 0.3 s) and those whose content ends from 16 kHz count too (193 voices instead of the 92
reaching 19 kHz and lasting 0.8 s): a voice's cells above where its content ends weigh nothing, the coherence being
weighed by the reference's power; with them the readout gained more on the benchmark's held-out speech. Voices are
what it is for (their band keeps a phase the input gives away); music keeps none
(`eval/results/coherence_ceiling.md`), and a readout trained for its coherence as well fitted its training files
and gained less on the voices kept aside, so by default music only checks that the readout does it no harm. With
`--music-guard W`, every other music file trains it too, but only against harm: its loss is W times the fall of its
coherence under the fixed mix's, nothing where the readout does as well (`nuwave.training.readout.train_readout`);
the rest are kept aside (`--music 120` keeps 60). It is applied at the cutoffs of the rates where, on the files
kept aside, it raised the voices' coherence over the fixed mix by at least `--min-gain` and lowered the music's
by at most `--max-loss`: the longest run of such rates, from its lowest to its highest cutoff; the fixed mix stays
elsewhere. The benchmark's held-out sets are not used.

    python scripts/train_readout.py --out nuwave/checkpoints/nuwave-base > eval/results/phase_readout.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from coherence_ceiling import training_files

from nuwave import checkpoints
from nuwave.benchmark.evaluate import load_reference
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.loading import load_pipeline
from nuwave.models.readout import PhaseReadout
from nuwave.training.readout import mean_coherence, readout_cells, train_readout

RATES = (8000, 12000, 16000, 22050, 24000)
KINDS = ("speech", "music")
COMPONENT = "phase_readout"


def save_with_readout(model: Path, out: Path, readout: PhaseReadout) -> None:
    """Write `readout` into the model folder `out` (a copy of `model` first when they differ) and name it in the
    folder's model_index.json; the rest of the folder is left as it is."""
    if out.resolve() != model.resolve():
        if out.exists():
            raise SystemExit(f"{out}: exists; give a new folder or the model folder itself")
        shutil.copytree(model, out)
    readout.save_pretrained(out / COMPONENT)
    index_path = out / "model_index.json"
    index = json.loads(index_path.read_text())
    index[COMPONENT] = ["nuwave.models.readout", "PhaseReadout"]
    index_path.write_text(json.dumps(index, indent=2) + "\n")


def applied_cutoffs(gains: dict[int, tuple[float, float]], min_gain: float, max_loss: float
                    ) -> tuple[float, float] | None:
    """`{input rate: (voices' gain, music's gain)}` -> (lowest, highest) cutoff in Hz of the longest run of rates,
    in order, whose voices gained at least `min_gain` and whose music lost at most `max_loss`; None if no rate did."""
    runs, run = [], []
    for rate in sorted(gains):
        speech, music = gains[rate]
        if speech >= min_gain and music >= -max_loss:
            run.append(rate / 2)
        elif run:
            runs.append(run)
            run = []
    runs += [run] if run else []
    if not runs:
        return None
    best = max(runs, key=len)
    return best[0], best[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=checkpoints.DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, required=True, help="the model folder to write (may be --model's)")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--voices", type=int, default=300, help="training voices asked for (fewer may exist)")
    parser.add_argument("--music", type=int, default=60, help="music files asked for, to check the readout on")
    parser.add_argument("--min-seconds", type=float, default=0.3, help="the shortest voice used")
    parser.add_argument("--min-content-hz", type=float, default=16000.0,
                        help="the least frequency a voice's content must reach")
    parser.add_argument("--seconds", type=float, default=5.0, help="each file's first seconds")
    parser.add_argument("--validation-every", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-gain", type=float, default=0.01,
                        help="the least rise in the kept-aside voices' coherence for a rate's cutoff to use it")
    parser.add_argument("--max-loss", type=float, default=0.01,
                        help="the most fall in the kept-aside music's coherence for a rate's cutoff to use it")
    parser.add_argument("--music-guard", type=float, default=0.0,
                        help="train on every other music file too, its coherence held from falling under the fixed "
                        "mix's with this weight (0: music only checks the readout)")
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    pipe = load_pipeline(args.model, "cpu")
    model = Path(checkpoints.resolve(args.model))
    rate = pipe.model_rate
    config = pipe.denoiser.config
    readout = PhaseReadout(sample_rate=rate, n_fft=config.n_fft, hop_length=config.hop_length,
                           bands=config.envelope_bands)
    files = {"speech": training_files(args.data, "speech", args.voices, args.min_seconds,
                                      min_content_hz=args.min_content_hz),
             "music": training_files(args.data, "music", args.music, 0.8)}
    sets = {}  # (kind, "training" or "kept aside") -> [(input rate, cells)]
    counts = {}  # (kind, "training" or "kept aside") -> files
    for kind, paths in files.items():
        if len(paths) < 2 * args.validation_every:
            raise SystemExit(f"{args.data}: only {len(paths)} lossless {kind} files of the training split reach "
                             "19 kHz; build the corpus first (scripts/prepare_data.py)")
        for index, path in enumerate(paths):
            reference = load_reference(path, rate, RATES)[: round(args.seconds * rate)]
            if kind == "speech":
                trained = index % args.validation_every != args.validation_every - 1
            else:  # guarded music trains on every other file; the rest, or all without a guard, is kept aside
                trained = args.music_guard > 0 and index % 2 == 0
            part = "training" if trained else "kept aside"
            counts[kind, part] = counts.get((kind, part), 0) + 1
            sets.setdefault((kind, part), []).extend(
                (input_rate, readout_cells(pipe, readout, reference, input_rate)) for input_rate in RATES)
    train_readout(readout, [cells for _, cells in sets["speech", "training"]], rate, args.epochs, args.seed,
                  args.learning_rate, [cells for _, cells in sets.get(("music", "training"), [])], args.music_guard)
    rows, gains = [], {}
    for input_rate in RATES:
        for kind in KINDS:
            row = [kind, f"standard-{input_rate / 1000:g}k", f"{input_rate / 2:g}"]
            for part in ("training", "kept aside"):
                chosen = [cells for r, cells in sets.get((kind, part), []) if r == input_rate]
                if not chosen:
                    row += ["", ""]
                    continue
                fixed, learned = mean_coherence(None, chosen, rate), mean_coherence(readout, chosen, rate)
                row += [f"{fixed:+.3f}", f"{learned:+.3f}"]
            gains.setdefault(input_rate, []).append(float(row[-1]) - float(row[-2]))
            rows.append(row)
    applied = applied_cutoffs({r: tuple(g) for r, g in gains.items()}, args.min_gain, args.max_loss)
    if applied is None:
        raise SystemExit("the readout helped at no rate on the kept-aside files; nothing written")
    readout.register_to_config(min_cutoff_hz=applied[0], max_cutoff_hz=applied[1])
    save_with_readout(model, args.out, readout)
    for row in rows:
        row.append("yes" if applied[0] <= float(row[2]) <= applied[1] else "no")
    parameters = sum(p.numel() for p in readout.parameters())
    print(f"Produced by `python scripts/train_readout.py --out {args.out} --voices {args.voices} --music {args.music} "
          f"--min-seconds {args.min_seconds:g} --min-content-hz {args.min_content_hz:g} "
          f"--seconds {args.seconds:g} --validation-every {args.validation_every} --epochs {args.epochs} "
          f"--learning-rate {args.learning_rate:g} --seed {args.seed} --min-gain {args.min_gain:g} --max-loss "
          f"{args.max_loss:g}" + (f" --music-guard {args.music_guard:g}" if args.music_guard > 0 else "")
          + f"` on `{args.model}` ({time.perf_counter() - started:.0f} s on this machine's CPU).\n")
    print(f"The band's coherence with the reference (the reference-power-weighted correlation per envelope band "
          f"and frame above the cutoff, the mean over files) of the phase lock's fixed mix and of the trained "
          f"readout ({parameters:,} parameters, {args.epochs} epochs over {counts['speech', 'training']} voices of "
          f"the training split"
          + (f" and {counts['music', 'training']} music files held from falling under the fixed mix (weight "
             f"{args.music_guard:g})" if args.music_guard > 0 else "")
          + f", each's first {args.seconds:g} s at {len(RATES)} rates), on those files and on "
          f"{counts['speech', 'kept aside']} voices and {counts['music', 'kept aside']} music files of the training "
          f"split kept aside. The readout is applied from {applied[0]:g} to {applied[1]:g} Hz cutoffs, where it "
          f"raised the kept-aside voices' coherence by at least {args.min_gain:g} and lowered the music's by at most "
          f"{args.max_loss:g}.\n")
    print("\n".join(markdown_table(["kind", "condition", "cutoff (Hz)", "trained on: fixed mix", "trained on: readout",
                                     "kept aside: fixed mix", "kept aside: readout", "applied"], rows)))


if __name__ == "__main__":
    sys.exit(main())
