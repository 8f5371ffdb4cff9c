"""A tiny suite end to end: baselines and a tiny model through `nuwave eval`, and the reports it writes."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from nuwave import cli
from nuwave.benchmark.figures import plot_band_diagnostics
from nuwave.benchmark.report import band_correlations
from nuwave.inference.options import DEFAULT_TEMPERATURE, DEFAULT_TOP_HEDGE_DB
from tests.conftest import tone_mix


def test_tiny_suite_end_to_end(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    for index, rate in enumerate([48000, 44100]):  # a 44.1 kHz reference of an odd length is brought to 48 kHz
        audio = tone_mix(rate, 0.6, seed=index)[:-7]
        audio = audio + 0.02 * rng.standard_normal(audio.size).astype(np.float32)
        sf.write(str(tmp_path / f"ref{index}.wav"), audio, rate, subtype="FLOAT")
    (tmp_path / "list.txt").write_text("ref0.wav\nref1.wav\n")
    (tmp_path / "suite.json").write_text(json.dumps(
        {"name": "tiny", "manifest": "list.txt", "output_rate": 48000, "input_rates": [12000, 16000],
         "degradations": ["standard", "sinc", "mp3", "mp3-64kbps"]}
    ))
    out = tmp_path / "results"
    result = CliRunner().invoke(cli.main, ["eval", "--suite", str(tmp_path / "suite.json"), "--data", str(tmp_path),
                                           "--model", str(tiny_model_dir), "--steps", "1,2", "--runs", "2", "--out",
                                           str(out)])
    assert result.exit_code == 0, result.output
    for name in ("results.json", "report.md", "curves.png", "spectrograms.png", "bands.png"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    rows = {(r["condition"], r["system"], r["steps"]) for r in results["summary"]}
    conditions = ["standard-12k", "standard-16k", "sinc-12k", "sinc-16k", "mp3", "mp3-64kbps"]
    for condition in conditions:
        for system, steps in [("input", None), ("sbr", None), ("nuwave", 1), ("nuwave", 2)]:
            assert (condition, system, steps) in rows
        assert ((condition, "sinc", None) in rows) == condition.startswith(("standard", "sinc"))
    assert len(results["records"]) == 2 * (4 * (3 + 2 * 2) + 2 * (2 + 2 * 2))
    inputs = {r["condition"]: r["metrics"]["lsd"] for r in results["records"] if r["system"] == "input"}
    assert inputs["mp3-64kbps"] > inputs["mp3"]  # the lower bit rate leaves less of the reference
    assert {"torch", "device", "commit"} <= set(results["environment"])
    cutoffs = {r["condition"]: r["cutoff"] for r in results["records"] if r["condition"].startswith("standard")}
    assert cutoffs == {"standard-12k": 6000.0, "standard-16k": 8000.0}
    report = (out / "report.md").read_text()
    for condition in conditions:
        assert f"## {condition}" in report
    assert "| nuwave | 2 |" in report and "| sinc | - |" in report and "| sbr | - |" in report and " ± " in report
    assert "Produced by `nuwave eval" in report
    sampler = (f"dpmsolver++, temperature {DEFAULT_TEMPERATURE:g}, phase lock on rate inputs (not under a codec's cut)"
               f", band above 20 kHz {DEFAULT_TOP_HEDGE_DB:g} dB under the model's estimate (rate inputs)")
    assert results["sampler"] == sampler
    assert f"sampler: {sampler}" in report
    for row in results["summary"]:
        assert np.isfinite(row["lsd"]) and row["rtf"] >= 0


def test_stereo_suite_keeps_both_channels_and_reports_band_correlation(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(1)
    mono = tone_mix(44100, 0.6) + 0.02 * rng.standard_normal(26460).astype(np.float32)
    other = tone_mix(44100, 0.6, seed=3) + 0.02 * rng.standard_normal(26460).astype(np.float32)
    sf.write(str(tmp_path / "opposite.wav"), np.stack([mono, -mono], 1), 44100, subtype="FLOAT")
    sf.write(str(tmp_path / "unrelated.wav"), np.stack([mono, other], 1), 44100, subtype="FLOAT")
    (tmp_path / "list.txt").write_text("opposite.wav\nunrelated.wav\n")
    (tmp_path / "suite.json").write_text(json.dumps(
        {"name": "tiny-stereo", "manifest": "list.txt", "output_rate": 44100, "input_rates": [16000],
         "degradations": ["standard"], "stereo": True}))
    out = tmp_path / "results"
    result = CliRunner().invoke(cli.main, ["eval", "--suite", str(tmp_path / "suite.json"), "--data", str(tmp_path),
                                           "--model", str(tiny_model_dir), "--steps", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads((out / "results.json").read_text())["records"]
    by_file = {(r["file"].rsplit("/", 1)[-1], r["system"]): r["metrics"] for r in records}
    assert by_file[("opposite.wav", "sinc")]["reference_band_corr"] == pytest.approx(-1, abs=1e-4)
    # mid / side generation: L = -R in, opposite bands out
    assert by_file[("opposite.wav", "nuwave")]["band_corr"] == pytest.approx(-1, abs=1e-4)
    assert abs(by_file[("unrelated.wav", "nuwave")]["reference_band_corr"]) < 0.3
    report = (out / "report.md").read_text()
    assert "both channels" in report and "| opposite.wav | -1.000 |" in report and "octave 1 (dB)" in report


def test_each_output_reaches_the_caller_with_its_reference(tmp_path, tiny_pipeline):
    """`evaluate(..., each=)` hands over every output the records were measured on (what scripts/snr_breakdown.py
    analyses): one per record, the reference's shape, and the record's SNR recomputed from it."""
    import torch

    from nuwave.benchmark.evaluate import Suite, evaluate
    from nuwave.benchmark.metrics import snr

    sf.write(str(tmp_path / "ref.wav"), tone_mix(48000, 0.6), 48000, subtype="FLOAT")
    (tmp_path / "list.txt").write_text("ref.wav\n")
    (tmp_path / "suite.json").write_text(json.dumps(
        {"name": "tiny", "manifest": "list.txt", "output_rate": 48000, "input_rates": [16000],
         "degradations": ["standard", "mp3"]}))
    suite = Suite.load(tmp_path / "suite.json", tmp_path)
    seen = []
    records = evaluate(suite, tiny_pipeline, (1,), runs=1, each=seen.append)
    assert len(seen) == len(records) == 4 + 3  # input, sinc, sbr, nuwave; no sinc under a codec
    for record, output in zip(records, seen):
        assert (output.condition, output.system, output.steps, str(output.file)) == \
            (record.condition, record.system, record.steps, record.file)
        assert output.audio.shape == output.reference.shape and output.cutoff == record.cutoff
        measured = float(snr(torch.from_numpy(output.audio), torch.from_numpy(output.reference)))
        assert measured == pytest.approx(record.metrics["snr"], abs=1e-3)


def test_the_channel_mode_reaches_the_model(tmp_path, tiny_pipeline):
    """`evaluate(..., channel_mode=)` (what scripts/channel_modes.py compares): L = -R gets exactly opposite bands
    as mid and side, not with one noise for both channels."""
    from nuwave.benchmark.evaluate import Suite, evaluate

    mono = tone_mix(48000, 0.6)
    sf.write(str(tmp_path / "opposite.wav"), np.stack([mono, -mono], 1), 48000, subtype="FLOAT")
    (tmp_path / "list.txt").write_text("opposite.wav\n")
    (tmp_path / "suite.json").write_text(json.dumps(
        {"name": "tiny-stereo", "manifest": "list.txt", "output_rate": 48000, "input_rates": [16000],
         "degradations": ["standard"], "stereo": True}))
    suite = Suite.load(tmp_path / "suite.json", tmp_path)
    correlation = {mode: next(r.metrics["band_corr"] for r in evaluate(suite, tiny_pipeline, (1,), channel_mode=mode)
                              if r.system == "nuwave") for mode in ("mid-side", "shared")}
    assert correlation["mid-side"] == pytest.approx(-1, abs=1e-4)
    assert correlation["shared"] > -0.999


def test_outputs_by_file_of_the_rate_conditions(tmp_path, tiny_pipeline):
    """What the analysis scripts read: the rate conditions alone, and sinc's and the model's output of each file."""
    from nuwave.benchmark.evaluate import Suite, outputs_by_file, rate_conditions

    sf.write(str(tmp_path / "ref.wav"), tone_mix(48000, 0.6), 48000, subtype="FLOAT")
    (tmp_path / "list.txt").write_text("ref.wav\n")
    (tmp_path / "suite.json").write_text(json.dumps(
        {"name": "tiny", "manifest": "list.txt", "output_rate": 48000, "input_rates": [8000, 16000],
         "degradations": ["standard", "mp3", "mp3-96kbps"]}))
    rated = rate_conditions(Suite.load(tmp_path / "suite.json", tmp_path))
    assert rated.degradations == ("standard",)
    outputs = outputs_by_file(rated, tiny_pipeline, 1)
    assert sorted(outputs) == [(c, "ref", s) for c in ("standard-16k", "standard-8k") for s in ("nuwave", "sinc")]
    assert all(o.steps == (1 if o.system == "nuwave" else None) and o.run == 0 for o in outputs.values())
    # each output carries the metrics the benchmark computed for it: the analyses need not measure it again
    from nuwave.benchmark.evaluate import file_metrics

    for output in outputs.values():
        again = file_metrics(torch.from_numpy(output.audio), torch.from_numpy(output.reference), output.cutoff, 48000)
        assert output.metrics.keys() == again.keys() and "lsd" in again
        assert all(np.isclose(output.metrics[k], v, equal_nan=True) for k, v in again.items())


def test_band_correlations_take_the_nearest_step_count_and_the_mean_over_runs(tmp_path):
    def record(condition, system, steps, run, file, corr, reference=0.5):
        return {"condition": condition, "system": system, "steps": steps, "run": run, "file": file,
                "metrics": {"band_corr": corr, "reference_band_corr": reference}}

    records = [record("standard-16k", "sinc", None, 0, "a", 0.9),
               record("standard-16k", "nuwave", 4, 0, "a", -1.0), record("standard-16k", "nuwave", 16, 0, "a", 0.0),
               record("standard-16k", "nuwave", 4, 1, "a", -0.5),
               record("standard-16k", "nuwave", 4, 0, "b", 0.3, -1.0),
               record("mp3", "input", None, 0, "a", 0.2)]
    # 8 steps: 4 is nearer than 16; file a's two runs averaged; conditions without the model left out
    assert band_correlations(records, 8) == {"standard-16k": [(0.5, -0.75), (-1.0, 0.3)]}
    assert band_correlations(records, 16) == {"standard-16k": [(0.5, 0.0)]}
    mono = [{**r, "metrics": {k: v for k, v in r["metrics"].items() if k != "band_corr"}} for r in records]
    assert band_correlations(mono, 8) == {}
    rows = [{"condition": "standard-16k", "system": system, "steps": steps, "band_db_1": value, "band_db_2": -2.0,
             "band_db_3": float("nan"), "pause_db": 3.0 * value, "lsd_active": 1.0, "lsd_pause": 0.5}
            for system, steps, value in [("sinc", None, -40.0), ("sbr", None, 5.0), ("nuwave", 4, 1.0)]]
    plot_band_diagnostics(rows, tmp_path / "bands.png", 8, band_correlations(records, 8))
    assert (tmp_path / "bands.png").stat().st_size > 0
