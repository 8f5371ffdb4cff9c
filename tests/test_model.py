import pytest
import torch

from nuwave.models import NuWaveDenoiser
from tests.conftest import tiny_denoiser


@pytest.mark.parametrize("length", [1, 255, 257, 1023, 4801])
def test_output_shape_for_odd_lengths(length):
    model = tiny_denoiser()
    noisy = torch.randn(3, 1, length)
    out = model(noisy, torch.randn(3, 1, length), torch.tensor([0.2, 0.5, 0.9]), torch.tensor([0, 500, 999]))
    assert out.shape == (3, 1, length)
    assert torch.isfinite(out).all()


def test_default_model_starts_as_zero_predictor_and_trains():
    """AdaLN-Zero / zero output init: a fresh model predicts 0, and gradients still reach every weight."""
    model = NuWaveDenoiser(channels=32, num_blocks=2, embedding_dim=32)
    noisy, cond = torch.randn(2, 1, 2048), torch.randn(2, 1, 2048)
    out = model(noisy, cond, torch.tensor([0.3, 0.3]), torch.tensor([10, 900]))
    assert torch.count_nonzero(out) == 0
    out.sub(noisy).square().mean().backward()
    assert model.output_projection.weight.grad.abs().sum() > 0


def test_batch_items_are_independent():
    model = tiny_denoiser()
    noisy, cond = torch.randn(2, 1, 3000), torch.randn(2, 1, 3000)
    band, steps = torch.tensor([0.3, 0.6]), torch.tensor([100, 700])
    both = model(noisy, cond, band, steps)
    first = model(noisy[:1], cond[:1], band[:1], steps[:1])
    torch.testing.assert_close(both[:1], first, rtol=1e-4, atol=1e-5)


def test_encoded_condition_is_the_condition_share_of_one_projection():
    """A sampler encodes the condition once: the result is the same as encoding it at each call, and both equal
    the one input projection of the noisy and the condition's features together (up to rounding)."""
    import torch.nn.functional as F

    model = tiny_denoiser()
    noisy, cond = torch.randn(2, 1, 3072), torch.randn(2, 1, 3072)  # whole hops: no padding
    band, steps = torch.tensor([0.3, 0.6]), torch.tensor([100, 700])
    with torch.no_grad():
        encoded = model.encode_condition(cond)
        assert torch.equal(model(noisy, cond, band, steps, encoded), model(noisy, cond, band, steps))
        noisy_spec = model.spectrum(noisy)
        cond_spec = model.spectrum(model.whiten(cond))
        features = torch.cat([noisy_spec.real, noisy_spec.imag, cond_spec.real, cond_spec.imag,
                              torch.log(cond_spec.abs().square() + 1e-6)], dim=1).transpose(1, 2)
        whole = model.input_projection(features)
        noisy_share = F.linear(features[..., : 2 * noisy_spec.shape[1]],
                               model.input_projection.weight[:, : 2 * noisy_spec.shape[1]])
    # float32 sums over some 800 features in another order: rounding differs by the CPU's kernels (1.4e-5 seen)
    torch.testing.assert_close(noisy_share + encoded, whole, rtol=1e-4, atol=1e-4)
    # The condition's share depends on the condition alone.
    assert not torch.allclose(encoded, model.encode_condition(cond * 0.5))


def test_forward_is_the_plain_computation():
    """The forward pass reads the STFT in its memory order (each bin's real and imaginary parts side by side) and
    runs the depthwise convolutions channels-last (`depthwise_frames`): the result is, to rounding, the plain
    computation with [real | imaginary] features and conv1d over `(B, C, frames)`."""
    import torch.nn.functional as F

    model = tiny_denoiser()
    noisy, cond = torch.randn(2, 1, 3000), torch.randn(2, 1, 3000)
    band, steps = torch.tensor([0.3, 0.6]), torch.tensor([100, 700])

    def plain_block(block, hidden, embedding):
        shift, scale, gate = block.modulation(embedding)[:, None, :].chunk(3, dim=-1)
        mixed = block.norm(block.depthwise(hidden.transpose(1, 2)).transpose(1, 2)) * (1 + scale) + shift
        return hidden + gate * block.pointwise_out(F.gelu(block.pointwise_in(mixed)))

    with torch.no_grad():
        padded = model._padded(noisy)
        embedding = model.condition_embedding(steps.float(), band)
        spec = model.spectrum(noisy)
        features = torch.cat([spec.real, spec.imag], dim=1).transpose(1, 2)
        hidden = F.linear(features, model.input_projection.weight[:, : features.shape[-1]])
        hidden = hidden + model.encode_condition(cond)
        for block in model.blocks:
            hidden = plain_block(block, hidden, embedding)
        shift, scale = model.final_modulation(embedding)[:, None, :].chunk(2, dim=-1)
        real, imag = model.output_projection(model.final_norm(hidden) * (1 + scale) + shift).transpose(1, 2).chunk(
            2, dim=1)
        spectrum = torch.complex(real, imag) + model.input_skip(embedding)[:, :, None] * spec
        expected = model._istft(spectrum, padded.shape[-1])[:, None, :3000]
        torch.testing.assert_close(model(noisy, cond, band, steps), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_depthwise_frames_is_the_conv1d_over_frames(dilation):
    from nuwave.models.denoiser import depthwise_frames

    conv = torch.nn.Conv1d(16, 16, 7, padding=dilation * 3, dilation=dilation, groups=16)
    hidden = torch.randn(3, 50, 16)
    with torch.no_grad():
        out = depthwise_frames(conv, hidden)
        torch.testing.assert_close(out, conv(hidden.transpose(1, 2)).transpose(1, 2), rtol=1e-5, atol=1e-6)
    assert out.shape == hidden.shape and out.is_contiguous()


def test_interleaved_orders_weights_as_view_as_real():
    from nuwave.models.denoiser import interleaved

    weight = torch.arange(12.0).reshape(2, 6)  # columns: real 0-2, imaginary 0-2
    assert interleaved(weight, dim=1).tolist() == [[0, 3, 1, 4, 2, 5], [6, 9, 7, 10, 8, 11]]
    assert interleaved(torch.arange(4.0), dim=0).tolist() == [0, 2, 1, 3]


def test_bandwidth_and_noise_level_change_the_output():
    model = tiny_denoiser()
    noisy, cond = torch.randn(1, 1, 4096), torch.randn(1, 1, 4096)
    base = model(noisy, cond, torch.tensor([0.3]), torch.tensor([500]))
    assert not torch.allclose(base, model(noisy, cond, torch.tensor([0.7]), torch.tensor([500])))
    assert not torch.allclose(base, model(noisy, cond, torch.tensor([0.3]), torch.tensor([50])))


def test_spectral_tilt_raises_high_bands_by_the_slope_and_is_undone_exactly():
    from nuwave.audio.dsp import spectral_tilt

    noise = torch.randn(4, 48000, generator=torch.Generator().manual_seed(0))
    tilted = spectral_tilt(noise, 48000, 7.0, 500.0, 36.0)
    power = torch.fft.rfft(tilted).abs().square().mean(0)
    flat = torch.fft.rfft(noise).abs().square().mean(0)

    def band_db(spectrum, low, high):  # 1 Hz bins for a 1 s signal
        return 10 * torch.log10(spectrum[low:high].mean())

    assert abs((band_db(power, 7800, 8200) - band_db(flat, 7800, 8200)) - 28.0) < 0.5  # 4 octaves above 500 Hz
    assert abs((band_db(power, 100, 400) - band_db(flat, 100, 400))) < 0.5  # below the corner: unchanged
    assert abs((band_db(power, 22000, 23000) - band_db(flat, 22000, 23000)) - 36.0) < 0.5  # the cap
    restored = spectral_tilt(tilted, 48000, 7.0, 500.0, 36.0, inverse=True)
    assert torch.allclose(restored, noise, atol=1e-4)
    # Filtering is local: a slice is tilted like the whole signal away from the slice's ends.
    part = spectral_tilt(noise[:, 12000:24000], 48000, 7.0, 500.0, 36.0)
    assert torch.allclose(part[:, 200:-200], tilted[:, 12200:23800], rtol=1e-3, atol=1e-2)
    assert spectral_tilt(noise, 48000, 0.0, 500.0, 36.0) is noise


def test_denoiser_whiten_is_its_config_tilt():
    plain, tilted = NuWaveDenoiser(channels=8, num_blocks=1, tilt_db_per_octave=0.0), tiny_denoiser()
    audio = torch.randn(1, 1, 4800)
    assert torch.equal(plain.whiten(audio), audio)
    assert not torch.allclose(tilted.whiten(audio), audio)
    assert torch.allclose(tilted.unwhiten(tilted.whiten(audio)), audio, atol=1e-4)


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon", "sample"])
def test_predicted_sample_recovers_x0_from_each_target(prediction_type):
    from diffusers import DDIMScheduler

    from nuwave.models.schedule import predicted_sample

    schedule = DDIMScheduler(beta_schedule="squaredcos_cap_v2", prediction_type=prediction_type)
    generator = torch.Generator().manual_seed(0)
    clean, noise = torch.randn(2, 1, 64, generator=generator), torch.randn(2, 1, 64, generator=generator)
    for step in (10, 500, 900):
        timestep = torch.tensor([step])
        noisy = schedule.add_noise(clean, noise, timestep)
        target = {"v_prediction": schedule.get_velocity(clean, noise, timestep), "epsilon": noise,
                  "sample": clean}[prediction_type]
        torch.testing.assert_close(predicted_sample(schedule, target, noisy, step), clean, atol=1e-3, rtol=1e-3)


def test_envelope_band_power_and_shaping():
    from nuwave.models.envelope import band_log_power, shape_to_envelope

    torch.manual_seed(0)
    spectrum = torch.randn(2, 65, 10, dtype=torch.complex64)
    bandwidth = torch.tensor([0.25, 0.5])
    target = torch.full((2, 8, 10), -3.0)
    target[:, :, 4] = -9.0  # one frame far quieter: a pause
    shaped = shape_to_envelope(spectrum, target, bandwidth)
    power, mask = band_log_power(shaped.abs().square(), bandwidth, 8)
    # every band above the cutoff reaches its envelope; bands wholly below the cutoff have no value
    assert mask[0].tolist() == [0, 0, 1, 1, 1, 1, 1, 1] and mask[1].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    masked = mask[:, :, None].bool().expand_as(power)
    # gains are capped at +40 dB, so only bands within reach get there: all of them here but the band whose
    # only bins above the cutoff are few; check those fully above it
    full = torch.zeros_like(masked)
    full[0, 2:] = True
    full[1, 4:] = True
    torch.testing.assert_close(power[full], target[full], atol=1e-4, rtol=0)
    # the known band is untouched
    torch.testing.assert_close(shaped[0, :16], spectrum[0, :16])
    torch.testing.assert_close(shaped[1, :32], spectrum[1, :32])


def test_envelope_shaping_brings_the_handover_under_the_cutoff_along_with_the_first_band():
    from nuwave.models.envelope import band_log_power, generated_bins, shape_to_envelope

    torch.manual_seed(0)
    spectrum = torch.randn(2, 65, 10, dtype=torch.complex64)
    bandwidth = torch.tensor([0.3, 0.5])
    target = torch.full((2, 8, 10), -3.0)
    target[:, :, 4] = -9.0
    plain = shape_to_envelope(spectrum, target, bandwidth)
    shaped = shape_to_envelope(spectrum, target, bandwidth, handover=0.2)
    above = generated_bins(bandwidth, 65).bool()
    under = generated_bins(bandwidth * 0.8, 65).bool() & ~above
    assert under.sum(dim=1).tolist() == [4, 7]  # bins in (0.8 cutoff, cutoff]
    # above the cutoff the same as without a handover, far under it untouched
    torch.testing.assert_close(shaped[above], plain[above])
    rest = ~(above | under)
    torch.testing.assert_close(shaped[rest], spectrum[rest])
    # the handover bins move by the gain of the first band above the cutoff, frame by frame
    for item in range(2):
        first = int(above[item].float().argmax())
        gain = shaped[item, first].abs() / spectrum[item, first].abs()
        ratio = shaped[item, under[item]].abs() / spectrum[item, under[item]].abs()
        torch.testing.assert_close(ratio, gain[None].expand_as(ratio), rtol=1e-4, atol=0)
    power, _ = band_log_power(shaped.abs().square(), bandwidth, 8)
    assert torch.isfinite(power).all()


def test_envelope_of_a_silent_band_is_the_floor():
    from nuwave.models.envelope import POWER_FLOOR, band_log_power

    power = torch.zeros(1, 33, 4)
    power[:, :8] = 1.0
    log_power, mask = band_log_power(power, torch.tensor([0.25]), 4)
    assert torch.all(log_power[0, 1:] == torch.log10(torch.tensor(POWER_FLOOR)))
