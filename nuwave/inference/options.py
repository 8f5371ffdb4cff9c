"""What a user chooses when upsampling, with its defaults: one place for the pipeline, the file journey and the
command line. No heavy imports, so that `nuwave --help` reads them instantly."""

from __future__ import annotations

from nuwave.checkpoints import DEFAULT_MODEL
from nuwave.models.schedule import DEFAULT_SAMPLER, SAMPLERS

# Sampler steps of one upsampling (1 to `nuwave.models.schedule.MAX_STEPS`).
DEFAULT_STEPS = 8
# How far the output goes from the model's posterior mean towards its full sample (`NuWavePipeline.__call__`).
DEFAULT_TEMPERATURE = 0.15
# How the channels of an item are generated. mid-side: a stereo pair as its mid (L + R) / sqrt 2 and side
# (L - R) / sqrt 2, each from its own noise, so the generated band follows each channel (identical channels get
# identical bands, L = -R gets opposite bands, unrelated channels unrelated bands), then each of left and right
# brought to its own envelope; other channel counts as "independent". independent: each channel its own noise.
# shared: every channel the same noise. Outside mid-side, every channel is generated at its own level, as the mono
# recording it is.
CHANNEL_MODES = ("mid-side", "independent", "shared")
DEFAULT_CHANNEL_MODE = "mid-side"
# Where a recording's content ends is not in its band-limited input: many end at 20 kHz (microphones, production
# low-passes, encoders), others go on to their Nyquist frequency, and the model, taught on recordings that go on,
# puts a band up to about 22 kHz. Unless the top is given (`top`), the band of a rate input above 20 kHz (a ramp
# over `TOP_HEDGE_HZ`) is generated this many dB under the model's estimate: a hedge between the two (it costs
# 0.005-0.024 of LSD / sinc's on held-out recordings that go on and saves 0.06-0.085 on voices that end at 20 kHz;
# of 0, 5, 10 and 20 dB, 10 keeps the worse of the two furthest from the bound, `eval/results/top_hedge.md`).
# 0: none. Not under a codec's cut, whose band may lie wholly above 20 kHz: a mono MP3 from 96 kbit/s is cut at
# 20.1-20.5 kHz, and hedged there the recordings that go on came out 5-11 dB under their first octave above the cut
# (the bound is 4), for 0.837 against 0.952 x the decoded MP3's LSD on speech with pauses (the last table there).
DEFAULT_TOP_HEDGE_DB = 10.0
TOP_HEDGE_HZ = (19500.0, 20500.0)


def applied_top_hedge_db(top_hedge_db: float, top: float | None, codec_cut: bool) -> float:
    """The hedge an input gets: `top_hedge_db`, or none where its top is given or its cut is a codec's."""
    return 0.0 if top is not None or codec_cut else float(top_hedge_db)

# The precision the denoiser runs in (`torch_dtype` of `from_pretrained`); half precision pays off on GPUs.
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_DTYPE = "float32"

__all__ = ["DEFAULT_MODEL", "DEFAULT_SAMPLER", "SAMPLERS", "DEFAULT_STEPS", "DEFAULT_TEMPERATURE", "CHANNEL_MODES",
           "DEFAULT_CHANNEL_MODE", "DEFAULT_TOP_HEDGE_DB", "TOP_HEDGE_HZ", "applied_top_hedge_db", "DTYPES",
           "DEFAULT_DTYPE"]
