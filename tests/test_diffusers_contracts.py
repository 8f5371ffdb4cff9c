"""What users of diffusers expect of a pipeline: step callbacks, return_dict, the sampler as a swappable component,
torch_dtype, the pipeline's own progress bar, and shipped models found by name."""

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler
from diffusers.utils import logging as diffusers_logging

from nuwave import cli
from nuwave.inference.loading import load_pipeline
from nuwave.inference.pipeline import NuWavePipeline
from nuwave.models.schedule import make_sampler
from tests.conftest import tone_mix


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_callback_on_step_end_sees_every_step_and_may_replace_the_sample(tiny_pipeline):
    audio = tone_mix(16000, 0.2)
    calls = []

    def watch(pipe, step, timestep, callback_kwargs):
        calls.append((pipe, step, int(timestep), tuple(callback_kwargs["sample"].shape)))
        return callback_kwargs

    plain = tiny_pipeline(audio, 16000, num_inference_steps=3, generator=seeded(), callback_on_step_end=watch).audios
    timesteps = [int(t) for t in tiny_pipeline.scheduler.timesteps]
    assert [(step, t) for _, step, t, _ in calls] == list(enumerate(timesteps))
    assert all(pipe is tiny_pipeline and shape == (1, 1, 9600) for pipe, _, _, shape in calls)
    np.testing.assert_array_equal(plain, tiny_pipeline(audio, 16000, num_inference_steps=3, generator=seeded()).audios)

    def silence_last(pipe, step, timestep, callback_kwargs):
        return {"sample": torch.zeros_like(callback_kwargs["sample"])} if step == 2 else {}

    replaced = tiny_pipeline(audio, 16000, num_inference_steps=3, generator=seeded(), temperature=1.0,
                             callback_on_step_end=silence_last).audios
    assert not np.allclose(replaced, tiny_pipeline(audio, 16000, num_inference_steps=3, generator=seeded(),
                                                   temperature=1.0).audios)


def test_return_dict_false_gives_the_tuple_of_audios(tiny_pipeline):
    audio = tone_mix(16000, 0.2)
    output = tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded())
    plain = tiny_pipeline(audio, 16000, num_inference_steps=2, generator=seeded(), return_dict=False)
    assert isinstance(plain, tuple) and len(plain) == 1
    np.testing.assert_array_equal(plain[0], output.audios)


def test_the_sampler_is_a_component_swapped_with_from_config(tiny_pipeline):
    audio = tone_mix(16000, 0.2)

    def run():
        return tiny_pipeline(audio, 16000, num_inference_steps=4, generator=seeded(), temperature=1.0).audios

    default = run()
    tiny_pipeline.scheduler = DPMSolverMultistepScheduler.from_config(tiny_pipeline.scheduler.config)
    np.testing.assert_array_equal(run(), default)
    tiny_pipeline.scheduler = UniPCMultistepScheduler.from_config(tiny_pipeline.scheduler.config)
    unipc = run()
    assert not np.allclose(unipc, default)
    tiny_pipeline.scheduler = make_sampler("unipc", tiny_pipeline.scheduler.config)
    np.testing.assert_array_equal(run(), unipc)  # the name is a convenience for the same component
    ddim = DDIMScheduler.from_config(tiny_pipeline.scheduler.config)
    assert ddim.config.clip_sample is False  # the domain's peaks go beyond [-1, 1]: never clipped
    assert ddim.config.prediction_type == "v_prediction" and ddim.config.timestep_spacing == "trailing"


@pytest.mark.filterwarnings("ignore:`torch_dtype` is deprecated:FutureWarning")  # newer diffusers' name is `dtype`
def test_torch_dtype_bfloat16_runs_one_step_on_the_cpu(tiny_model_dir):
    pipe = NuWavePipeline.from_pretrained(tiny_model_dir, torch_dtype=torch.bfloat16)
    assert pipe.denoiser.dtype == torch.bfloat16
    audio = tone_mix(16000, 0.3, channels=2)
    out = pipe(audio, 16000, num_inference_steps=1, generator=seeded()).audios
    assert out.shape == (2, 14400) and out.dtype == np.float32 and np.isfinite(out).all()
    full = NuWavePipeline.from_pretrained(tiny_model_dir)(audio, 16000, num_inference_steps=1, generator=seeded())
    error = np.mean((out - full.audios) ** 2) / np.mean(full.audios**2)
    assert error < 1e-2  # the same model at a lower precision


def test_dtype_option_of_the_command(tmp_path, tiny_model_dir):
    sf.write(str(tmp_path / "in.wav"), tone_mix(16000, 0.3), 16000)
    result = CliRunner().invoke(cli.main, ["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.wav"),
                                           "--model", str(tiny_model_dir), "--steps", "1", "--dtype", "bfloat16"])
    assert result.exit_code == 0, result.output
    out, rate = sf.read(str(tmp_path / "out.wav"))
    assert rate == 48000 and out.shape == (14400,) and np.isfinite(out).all()
    result = CliRunner().invoke(cli.main, ["upsample", str(tmp_path / "in.wav"), "-o", str(tmp_path / "half.wav"),
                                           "--model", str(tiny_model_dir), "--dtype", "float16", "--device", "cpu"])
    assert result.exit_code == 1 and "float16 needs a GPU" in result.stderr
    assert not (tmp_path / "half.wav").exists()


def test_the_pipeline_has_its_own_progress_bar_and_loading_leaves_the_global_setting(tiny_pipeline, tiny_model_dir,
                                                                                        capsys):
    tiny_pipeline(tone_mix(16000, 0.1), 16000, num_inference_steps=3, generator=seeded())
    assert "3/3" in capsys.readouterr().err
    tiny_pipeline.set_progress_bar_config(disable=True)
    tiny_pipeline(tone_mix(16000, 0.1), 16000, num_inference_steps=3, generator=seeded())
    assert "3/3" not in capsys.readouterr().err
    assert diffusers_logging.is_progress_bar_enabled()
    load_pipeline(tiny_model_dir, "cpu")
    assert diffusers_logging.is_progress_bar_enabled()


def test_the_shipped_model_is_found_by_name():
    from nuwave.models.denoiser import NuWaveDenoiser

    pipe = NuWavePipeline.from_pretrained("nuwave-base")
    assert isinstance(pipe.denoiser, NuWaveDenoiser) and pipe.denoiser.envelope is not None
    assert isinstance(pipe.scheduler, DPMSolverMultistepScheduler)
    alone = NuWaveDenoiser.from_pretrained("nuwave-base", subfolder="denoiser")
    for name, tensor in pipe.denoiser.state_dict().items():
        assert torch.equal(alone.state_dict()[name], tensor), name
    assert isinstance(load_pipeline("nuwave-base", "cpu"), NuWavePipeline)


@pytest.mark.parametrize("name", ["speech", "music", "speech-pauses", "stereo", "speech-16k", "speech-44k"])
def test_shipped_suites_are_found_by_name_and_read_their_manifest_from_the_data_folder(tmp_path, name):
    from nuwave.benchmark.evaluate import Suite, suite_file

    path = suite_file(name)
    assert path.is_file() and path.parent.name == "suites"
    manifest = path.read_text().split('"manifest": "')[1].split('"')[0]
    sf.write(str(tmp_path / "ref.wav"), tone_mix(48000, 0.2, channels=2).T, 48000)
    (tmp_path / manifest).write_text("ref.wav\n")
    suite = Suite.load(path, tmp_path)
    assert suite.name == name and suite.files == ((tmp_path / "ref.wav").resolve(),)
