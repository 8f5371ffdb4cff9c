"""Train the phase lock's readout (`nuwave.models.readout.PhaseReadout`) for a model folder and save the folder with
it, where it helps: a table of the band's coherence per input rate, written as markdown to stdout.

The readout is trained on the training split's lossless voices (content reaching 19 kHz, `--voices` of them,
each's first `--seconds`) at four input rates, all but every `--validation-every`-th voice, which are kept aside:
the readout is applied to the cutoffs of the rates where it raised those voices' coherence over the fixed mix by
at least `--min-gain` (the range from the lowest to the highest such cutoff), and the fixed mix stays elsewhere.
The benchmark's held-out sets are not used.

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
from coherence_ceiling import training_voices

from nuwave import checkpoints
from nuwave.benchmark.evaluate import load_reference
from nuwave.benchmark.tables import markdown_table
from nuwave.inference.pipeline import load_pipeline
from nuwave.models.readout import PhaseReadout
from nuwave.training.readout import mean_coherence, readout_cells, train_readout

RATES = (8000, 12000, 16000, 24000)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=checkpoints.DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, required=True, help="the model folder to write (may be --model's)")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--voices", type=int, default=150, help="training voices asked for (fewer may exist)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each voice's first seconds")
    parser.add_argument("--validation-every", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-gain", type=float, default=0.01,
                        help="the least rise in the kept-aside voices' coherence for a rate's cutoff to use it")
    args = parser.parse_args()
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    pipe = load_pipeline(args.model, "cpu")
    model = Path(checkpoints.resolve(args.model))
    rate = pipe.model_rate
    readout = PhaseReadout(sample_rate=rate, bands=pipe.denoiser.config.envelope_bands)
    voices = training_voices(args.data, args.voices)
    if len(voices) < 2 * args.validation_every:
        raise SystemExit(f"{args.data}: only {len(voices)} training voices reach 19 kHz; build the corpus first "
                         "(scripts/prepare_data.py)")
    sets = {"training": [], "kept aside": []}
    for index, path in enumerate(voices):
        reference = load_reference(path, rate, RATES)[: round(args.seconds * rate)]
        name = "kept aside" if index % args.validation_every == args.validation_every - 1 else "training"
        sets[name].extend((input_rate, readout_cells(pipe, readout, reference, input_rate)) for input_rate in RATES)
    train_readout(readout, [cells for _, cells in sets["training"]], rate, args.epochs, args.seed,
                  args.learning_rate)
    rows, gaining = [], []
    for input_rate in RATES:
        row = [f"standard-{input_rate // 1000}k", f"{input_rate / 2:g}"]
        for name, data in sets.items():
            chosen = [cells for r, cells in data if r == input_rate]
            fixed, learned = mean_coherence(None, chosen, rate), mean_coherence(readout, chosen, rate)
            row += [f"{fixed:+.3f}", f"{learned:+.3f}"]
            if name == "kept aside" and learned - fixed >= args.min_gain:
                gaining.append(input_rate / 2)
        rows.append(row)
    if not gaining:
        raise SystemExit("the readout raised no rate's coherence on the kept-aside voices; nothing written")
    readout.register_to_config(min_cutoff_hz=min(gaining), max_cutoff_hz=max(gaining))
    save_with_readout(model, args.out, readout)
    for row in rows:
        row.append("yes" if min(gaining) <= float(row[1]) <= max(gaining) else "no")
    counts = {name: len(data) // len(RATES) for name, data in sets.items()}
    parameters = sum(p.numel() for p in readout.parameters())
    print(f"Produced by `python scripts/train_readout.py --out {args.out} --voices {args.voices} --seconds "
          f"{args.seconds:g} --validation-every {args.validation_every} --epochs {args.epochs} --learning-rate "
          f"{args.learning_rate:g} --seed {args.seed} --min-gain {args.min_gain:g}` on `{args.model}` "
          f"({time.perf_counter() - started:.0f} s on this machine's CPU).\n")
    print(f"The band's coherence with the reference (the reference-power-weighted correlation per envelope band "
          f"and frame above the cutoff, the mean over files) of the phase lock's fixed mix and of the trained "
          f"readout ({parameters:,} parameters, {args.epochs} epochs over {counts['training']} training voices' "
          f"first {args.seconds:g} s at four rates), on those voices and on {counts['kept aside']} voices kept "
          f"aside. The readout is applied from {min(gaining):g} to {max(gaining):g} Hz cutoffs, where it raised the "
          f"kept-aside voices' coherence by at least {args.min_gain:g}.\n")
    print("\n".join(markdown_table(["condition", "cutoff (Hz)", "training: fixed mix", "training: readout",
                                     "kept aside: fixed mix", "kept aside: readout", "applied"], rows)))


if __name__ == "__main__":
    sys.exit(main())
