"""Spoken digits: eSpeak NG synthesis, the missing-wheel path, the mel filterbank, log-mel."""

import sys

import numpy as np
import pytest
import torch

import rnnlib.data.speech as speech

try:
    speech.espeak_paths()
    HAVE_ESPEAK = True
except speech.ESpeakUnavailableError:
    HAVE_ESPEAK = False
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeakng-loader has no wheel here")


# --- the missing wheel ---------------------------------------------------------------------

def test_missing_wheel_raises_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # `import` now fails
    with pytest.raises(speech.ESpeakUnavailableError, match="espeakng-loader") as info:
        speech.espeak_paths()
    assert isinstance(info.value, ImportError)
    message = str(info.value)
    assert "ARM" in message and "Linux x86-64" in message and "requirements.txt" in message
    with pytest.raises(speech.ESpeakUnavailableError):
        speech.synthesize(["one"], [speech.Voice("en-us")])
    with pytest.raises(speech.ESpeakUnavailableError):
        speech.spoken_digits(2, ["m1"])


def test_incomplete_package_is_reported(monkeypatch):
    class Broken:
        @staticmethod
        def get_library_path():
            return "/nonexistent/libespeak-ng.so"

        @staticmethod
        def get_data_path():
            return "/nonexistent"

    monkeypatch.setitem(sys.modules, "espeakng_loader", Broken)
    with pytest.raises(speech.ESpeakUnavailableError, match="library .* is missing"):
        speech.espeak_paths()


# --- synthesis -----------------------------------------------------------------------------

@needs_espeak
def test_synthesis_is_deterministic_and_fast_enough_to_be_useful():
    texts = ["three seven one nine", "two five", "zero"]
    voices = [speech.Voice("en-us", "m3"), speech.Voice("en-gb-scotland", "f2", 250, 80),
              speech.Voice("en-029", "klatt4", 120, 10)]
    first = speech.synthesize(texts, voices)
    again = speech.synthesize(texts, voices)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    for wave in first:
        assert wave.dtype == torch.float32 and wave.dim() == 1
        assert 0.2 < len(wave) / speech.SAMPLE_RATE < 3 and 0.05 < wave.abs().max() <= 1
    longest = speech.synthesize(texts[:1], [speech.Voice("en-us", "m3", rate=100)])[0]
    fastest = speech.synthesize(texts[:1], [speech.Voice("en-us", "m3", rate=400)])[0]
    assert len(longest) > 2 * len(fastest)  # the rate is words per minute
    assert speech.synthesize([], []) == []


@needs_espeak
def test_one_or_several_workers_split_the_work_in_order():
    texts = [" ".join(speech.DIGIT_WORDS[d] for d in ds) for ds in [(1, 2), (3,), (4, 5, 6)]]
    voices = [speech.Voice("en-us", v) for v in ("m1", "f1", "m2")]
    one = speech.synthesize(texts, voices, workers=1)
    three = speech.synthesize(texts, voices, workers=3)
    assert torch.equal(one[0], three[0])  # each is the first utterance of a fresh process
    assert [len(w) > 0 for w in three] == [True] * 3
    assert abs(len(one[2]) - len(three[2])) < 0.05 * len(one[2])  # same text, same voice


@needs_espeak
def test_spoken_digits_are_reproducible_and_add_noise_at_the_drawn_snr():
    data = speech.spoken_digits(6, ["m1", "f3"], ["en-us", "en"], min_len=2, max_len=3,
                                snr_db=(5.0, 20.0), seed=3)
    again = speech.spoken_digits(6, ["m1", "f3"], ["en-us", "en"], min_len=2, max_len=3,
                                 snr_db=(5.0, 20.0), seed=3)
    other = speech.spoken_digits(6, ["m1", "f3"], ["en-us", "en"], min_len=2, max_len=3,
                                 snr_db=(5.0, 20.0), seed=4)
    assert all(torch.equal(a, b) for a, b in zip(data.waveforms, again.waveforms, strict=True))
    assert data.digits == again.digits and data.digits != other.digits
    assert len(data) == 6 and all(2 <= len(d) <= 3 for d in data.digits)
    assert {v.variant for v in data.voices} <= {"m1", "f3"}
    assert all(130 <= v.rate <= 250 and 25 <= v.pitch <= 75 for v in data.voices)
    texts = [" ".join(speech.DIGIT_WORDS[d] for d in ds) for ds in data.digits]
    clean = speech.synthesize(texts, data.voices)  # the same calls, so the same samples
    for wave, noisy, snr in zip(clean, data.waveforms, data.snr_db.tolist(), strict=True):
        noise = noisy - wave
        measured = 10 * torch.log10(wave.pow(2).mean() / noise.pow(2).mean())
        assert 5.0 <= snr <= 20.0 and abs(measured.item() - snr) < 0.5


@needs_espeak
def test_unknown_voices_fail_before_any_synthesis():
    with pytest.raises(ValueError, match="no accent 'xx-nowhere'"):
        speech.synthesize(["one"], [speech.Voice("xx-nowhere")])
    with pytest.raises(ValueError, match="no variant 'nobody'"):
        speech.synthesize(["one"], [speech.Voice("en-us", "nobody")])


def test_synthesis_rejects_bad_arguments():
    voice = speech.Voice("en-us", "m1")
    with pytest.raises(TypeError, match="one string"):
        speech.synthesize("one", [voice])
    with pytest.raises(ValueError, match="one voice per text"):
        speech.synthesize(["one", "two"], [voice])
    with pytest.raises(ValueError, match="non-empty strings"):
        speech.synthesize(["  "], [voice])
    with pytest.raises(TypeError, match="Voice objects"):
        speech.synthesize(["one"], ["en-us+m1"])
    with pytest.raises(ValueError, match="workers"):
        speech.synthesize(["one"], [voice], workers=0)


def test_voice_checks_its_fields():
    assert speech.Voice("en-us", "m3").name == "en-us+m3" and speech.Voice("en").name == "en"
    with pytest.raises(ValueError, match="rate to be an int in"):
        speech.Voice("en-us", rate=50)
    with pytest.raises(ValueError, match="pitch to be an int in"):
        speech.Voice("en-us", pitch=1.5)
    with pytest.raises(ValueError, match="plain name"):
        speech.Voice("en-us+m3")
    with pytest.raises(ValueError, match="an accent"):
        speech.Voice("")


def test_random_digits_and_split_variants():
    g = torch.Generator().manual_seed(0)
    strings = speech.random_digits(500, 2, 5, generator=g)
    assert {len(s) for s in strings} == {2, 3, 4, 5}
    assert {d for s in strings for d in s} == set(range(10))
    train, valid, test = speech.split_variants(speech.VARIANTS, (24, 6, 6), seed=0)
    assert not (set(train) & set(valid) or set(train) & set(test) or set(valid) & set(test))
    assert speech.split_variants(seed=0) == (train, valid, test) != speech.split_variants(seed=1)
    with pytest.raises(ValueError, match="at most 36"):
        speech.split_variants(sizes=(30, 6, 6))
    with pytest.raises(ValueError, match="distinct"):
        speech.split_variants(["m1", "m1"], (1,))
    with pytest.raises(ValueError, match="min_len <= max_len"):
        speech.random_digits(3, 4, 2)
    with pytest.raises(ValueError, match="positive int"):
        speech.random_digits(0)
    with pytest.raises(ValueError, match="lists of variants"):
        speech.spoken_digits(2, "m1")
    with pytest.raises(ValueError, match="snr_db"):
        speech.spoken_digits(2, ["m1"], snr_db=(30.0, 10.0))


# --- features ------------------------------------------------------------------------------

def numpy_filterbank(n_fft, n_mels, sr, f_min, f_max):
    """Triangles by linear interpolation, one filter at a time (an independent route)."""
    mel = lambda f: 2595 * np.log10(1 + np.asarray(f) / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (np.asarray(m) / 2595) - 1)  # noqa: E731
    points = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, d=1 / sr)
    return np.stack([np.interp(bins, points[k : k + 3], [0, 1, 0], left=0, right=0)
                     for k in range(n_mels)], axis=1)


@pytest.mark.parametrize("n_fft, n_mels, sr, f_min, f_max", [
    (512, 40, 22050, 0.0, 8000.0), (400, 23, 16000, 60.0, 7600.0), (1024, 80, 22050, 0.0, None),
])
def test_mel_filterbank_matches_an_independent_computation(n_fft, n_mels, sr, f_min, f_max):
    fb = speech.mel_filterbank(n_fft, n_mels, sr, f_min, f_max)
    expected = numpy_filterbank(n_fft, n_mels, sr, f_min, f_max or sr / 2)
    np.testing.assert_allclose(fb.numpy(), expected, atol=1e-6)
    assert (fb.sum(0) > 0).all(), "every band covers at least one bin"


def test_mel_scale_round_trips_and_puts_1000_hz_at_1000_mel():
    f = torch.tensor([0.0, 440.0, 1000.0, 8000.0])
    torch.testing.assert_close(speech.mel_to_hz(speech.hz_to_mel(f)), f.double())
    assert abs(speech.hz_to_mel(1000.0).item() - 1000.0) < 0.02  # 999.986


def test_log_mel_matches_numpy_framing_and_fft():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(5000).astype(np.float64)
    n_fft, hop = 512, 441
    ours = speech.log_mel(torch.from_numpy(x), n_fft=n_fft, hop_length=hop).numpy()
    padded = np.pad(x, n_fft // 2)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = np.stack([padded[s : s + n_fft] * window
                       for s in range(0, len(padded) - n_fft + 1, hop)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    expected = np.log(power @ numpy_filterbank(n_fft, 40, 22050, 0.0, 8000.0) + 1e-10)
    assert ours.shape == expected.shape == (1 + 5000 // hop, 40)
    np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=1e-7)


def test_log_mel_of_a_tone_peaks_in_the_band_of_its_frequency(device):
    t = torch.arange(speech.SAMPLE_RATE, device=device) / speech.SAMPLE_RATE
    tone = torch.sin(2 * torch.pi * 1000.0 * t)
    peak = speech.log_mel(tone)[10].argmax().item()
    centres = speech.mel_filterbank(512, 40, f_max=8000.0).argmax(0)  # the bin of each peak
    bin_hz = torch.fft.rfftfreq(512, 1 / speech.SAMPLE_RATE)[centres]
    assert abs(bin_hz[peak].item() - 1000.0) < 120


def test_features_batch_equals_one_at_a_time_and_normalises_real_frames(device):
    g = torch.Generator().manual_seed(0)
    waves = [torch.randn(n, generator=g).to(device) for n in (3000, 9000, 441)]
    x, lengths = speech.features(waves, normalize=False)
    assert x.shape == (3, 1 + 9000 // 441, 40) and lengths.tolist() == [7, 21, 2]
    for i, w in enumerate(waves):
        torch.testing.assert_close(x[i, : lengths[i]], speech.log_mel(w), rtol=1e-4, atol=1e-4)
        assert (x[i, lengths[i] :] == 0).all()
    z, _ = speech.features(waves)
    real = z[1, :21]
    torch.testing.assert_close(real.mean(0), torch.zeros(40, device=device), atol=1e-4, rtol=0)
    torch.testing.assert_close(real.var(0, unbiased=False), torch.ones(40, device=device),
                               atol=1e-2, rtol=0)


def test_features_and_log_mel_reject_bad_inputs():
    with pytest.raises(ValueError, match=r"\(samples,\) or \(N, samples\)"):
        speech.log_mel(torch.zeros(2, 3, 400))
    with pytest.raises(ValueError, match=r"\(samples,\) or \(N, samples\)"):
        speech.log_mel(torch.zeros(400, dtype=torch.int16))
    with pytest.raises(ValueError, match="empty waveform"):
        speech.log_mel(torch.zeros(0))
    with pytest.raises(ValueError, match="hop_length"):
        speech.log_mel(torch.zeros(400), hop_length=0)
    with pytest.raises(ValueError, match="f_min < f_max"):
        speech.mel_filterbank(512, 40, 22050, 9000.0, 8000.0)
    with pytest.raises(ValueError, match="n_mels to be a positive int"):
        speech.mel_filterbank(512, 0)
    with pytest.raises(ValueError, match="non-empty list"):
        speech.features([])
    with pytest.raises(ValueError, match="1-D waveforms, got .* at index 1"):
        speech.features([torch.zeros(400), torch.zeros(2, 400)])
