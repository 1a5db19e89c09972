"""Spoken digit strings synthesised offline with eSpeak NG, and their log-mel spectrograms.

Speech without a download: the eSpeak NG synthesiser and its voices ship in the
``espeakng-loader`` wheel, and :func:`synthesize` calls the library through ctypes, in memory,
with no audio device. A voice is an accent (``"en-us"``, ``"en-gb-scotland"``, ...) with a
variant (``"m3"``, ``"f2"``, ``"klatt4"``, ...: another speaker), a speaking rate and a pitch.
:func:`spoken_digits` builds a data set of digit strings ("three seven one nine") with random
voices, rates, pitches and noise; a split by *variant* (:func:`split_variants`) keeps the
speakers of the test data out of training. :func:`log_mel` turns a waveform into the features
a recogniser reads, with a mel filterbank written out in :func:`mel_filterbank`.

The wheel exists for Linux x86-64, macOS and Windows x86-64, but not for Linux or Windows on
ARM; there :func:`espeak_paths` raises :class:`ESpeakUnavailableError`, saying so.

Synthesis is deterministic: the same arguments give the same samples, bit for bit (see
:func:`synthesize` for how). Waveforms are float32 CPU tensors at :data:`SAMPLE_RATE` Hz.
"""

from __future__ import annotations

import json
import math
import platform
import struct
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

__all__ = [
    "ACCENTS",
    "DIGIT_WORDS",
    "SAMPLE_RATE",
    "VARIANTS",
    "ESpeakUnavailableError",
    "SpokenDigits",
    "Voice",
    "espeak_paths",
    "features",
    "hz_to_mel",
    "log_mel",
    "mel_filterbank",
    "mel_to_hz",
    "random_digits",
    "spoken_digits",
    "split_variants",
    "synthesize",
]

#: eSpeak NG's output rate, in samples per second.
SAMPLE_RATE = 22050
#: The word spoken for each digit, index = digit.
DIGIT_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)
#: The English accents of eSpeak NG used here (American, British, Scottish, Received
#: Pronunciation, Caribbean, New York City).
ACCENTS: tuple[str, ...] = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc")
#: 36 voice variants (speakers) of eSpeak NG, the novelty ones (whisper, robots) left out.
VARIANTS: tuple[str, ...] = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "Alex", "Andy", "Annie", "Denis", "Gene", "Jacky",
    "Lee", "Michael", "Mike", "Reed", "adam", "anika", "aunty", "belinda", "benjamin", "caleb",
    "david", "edward", "linda", "steph",
)
_WORKER = Path(__file__).with_name("_espeak.py")


class ESpeakUnavailableError(ImportError):
    """eSpeak NG cannot be used here: the ``espeakng-loader`` wheel is missing or broken."""


def espeak_paths() -> tuple[str, str]:
    """The eSpeak NG shared library and its data folder, from the ``espeakng-loader`` wheel.

    Returns:
        ``(library, data)``, two paths.

    Raises:
        ESpeakUnavailableError: if ``espeakng_loader`` cannot be imported or its files are
            missing, with a message that says why and what to do.

    Example:
        >>> library, data = espeak_paths()
        >>> Path(library).exists() and Path(data, "voices").is_dir()
        True
    """
    where = f"{platform.system()} on {platform.machine()}"
    try:
        import espeakng_loader
    except ImportError as exc:
        raise ESpeakUnavailableError(
            f"eSpeak NG is not available on this machine ({where}): the package "
            "espeakng-loader, which ships the synthesiser and its voices, cannot be imported. "
            "Its wheels exist for Linux x86-64, macOS and Windows x86-64, not for Linux or "
            "Windows on ARM, where requirements.txt skips it. Run this chapter on one of those "
            "platforms, or install the package with `pip install espeakng-loader` where a "
            "wheel exists."
        ) from exc
    try:
        library, data = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except Exception as exc:  # the package raises RuntimeError for a missing data folder
        raise ESpeakUnavailableError(
            f"espeakng-loader is installed but incomplete ({where}): {exc}; reinstall it"
        ) from exc
    if not Path(library).exists():
        raise ESpeakUnavailableError(
            f"espeakng-loader is installed but its library {library} is missing ({where}); "
            "reinstall the package"
        )
    return library, data


@dataclass(frozen=True)
class Voice:
    """One way of speaking: an accent, a variant (speaker), a rate and a pitch.

    Args:
        accent: an eSpeak NG language voice, e.g. ``"en-us"`` (see :data:`ACCENTS`).
        variant: an eSpeak NG variant, e.g. ``"m3"`` (see :data:`VARIANTS`), or ``""`` for none.
        rate: speaking rate in words per minute, 80 to 450 (eSpeak NG's default is 175).
        pitch: base pitch, 0 to 99 (default 50).

    Example:
        >>> Voice("en-us", "m3", rate=200).name
        'en-us+m3'
    """

    accent: str
    variant: str = ""
    rate: int = 175
    pitch: int = 50

    def __post_init__(self) -> None:
        for field in ("accent", "variant"):
            value = getattr(self, field)
            if not isinstance(value, str) or any(c in value for c in "+/\\\0"):
                raise ValueError(f"expected {field} to be a plain name, got {value!r}")
        if not self.accent:
            raise ValueError("expected an accent such as 'en-us', got ''")
        for field, low, high in (("rate", 80, 450), ("pitch", 0, 99)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"expected {field} to be an int in [{low}, {high}], got {value!r}")

    @property
    def name(self) -> str:
        """The name eSpeak NG knows the voice by, ``accent+variant``."""
        return f"{self.accent}+{self.variant}" if self.variant else self.accent


def _check_voice_files(voices: Sequence[Voice], data: str) -> None:
    """Fail early, in this process, for an accent or variant eSpeak NG does not have."""
    accents = {p.name.lower() for p in Path(data, "lang").rglob("*") if p.is_file()}
    variants = {p.name.lower() for p in Path(data, "voices", "!v").iterdir()}
    for voice in set(voices):
        if voice.accent.lower() not in accents:
            raise ValueError(f"eSpeak NG has no accent {voice.accent!r}; try one of {ACCENTS}")
        if voice.variant and voice.variant.lower() not in variants:
            raise ValueError(
                f"eSpeak NG has no variant {voice.variant!r}; try one of {VARIANTS[:6]}..."
            )


def _run_worker(library: str, data: str, requests: list) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-I", str(_WORKER), library, data],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    worker.stdin.write(json.dumps(requests).encode())
    worker.stdin.close()
    return worker


def _read_worker(worker: subprocess.Popen, count: int) -> list[Tensor]:
    out, err = worker.stdout.read(), worker.stderr.read()
    if worker.wait() != 0:
        raise RuntimeError(f"the eSpeak NG worker failed: {err.decode(errors='replace').strip()}")
    waves, offset = [], 0
    for _ in range(count):
        (n,) = struct.unpack_from("<I", out, offset)
        offset += 4
        samples = torch.frombuffer(bytearray(out[offset : offset + 2 * n]), dtype=torch.int16)
        waves.append(samples.float() / 32768.0)
        offset += 2 * n
    return waves


def synthesize(texts: Sequence[str], voices: Sequence[Voice], *, workers: int = 2) -> list[Tensor]:
    """Speak each text with its voice; return the waveforms, float32 in [-1, 1].

    eSpeak NG carries state from one utterance to the next inside its library (the phase of
    its pitch flutter), so the same text spoken twice in one process differs slightly. Each
    call therefore runs the library in ``workers`` fresh processes, each speaking a contiguous
    share of the texts in order: the result depends on the arguments only (``workers``
    included), and is the same, bit for bit, on every call. A worker starts in about a tenth
    of a second; speaking four digits takes about 2 ms.

    Args:
        texts: what to say (UTF-8 text).
        voices: one :class:`Voice` per text.
        workers: processes that synthesise in parallel, 1 to 64.

    Returns:
        One waveform ``(samples,)`` per text, float32 at :data:`SAMPLE_RATE` Hz, on the CPU.

    Raises:
        ESpeakUnavailableError: where eSpeak NG is not installed (see :func:`espeak_paths`).
        ValueError: for texts and voices of different lengths, an empty or non-string text, or
            an accent or variant that eSpeak NG does not have.

    Example:
        >>> (wave,) = synthesize(["three seven"], [Voice("en-us", "m3")])
        >>> wave.dtype, 0.3 < len(wave) / SAMPLE_RATE < 2.0
        (torch.float32, True)
    """
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, got one string: wrap it in a list")
    if len(texts) != len(voices):
        raise ValueError(f"expected one voice per text, got {len(voices)} voices for "
                         f"{len(texts)} texts")
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"expected non-empty strings, got {text!r} at index {i}")
    for i, voice in enumerate(voices):
        if not isinstance(voice, Voice):
            raise TypeError(f"expected Voice objects, got {type(voice).__name__} at index {i}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise ValueError(f"expected workers to be an int in [1, 64], got {workers!r}")
    if not texts:
        return []
    library, data = espeak_paths()
    _check_voice_files(voices, data)
    requests = [[t, v.name, v.rate, v.pitch] for t, v in zip(texts, voices, strict=True)]
    share = math.ceil(len(requests) / workers)
    chunks = [requests[i : i + share] for i in range(0, len(requests), share)]
    running = [_run_worker(library, data, chunk) for chunk in chunks]  # in parallel
    return [wave for w, chunk in zip(running, chunks, strict=True)
            for wave in _read_worker(w, len(chunk))]


def random_digits(
    n: int, min_len: int = 2, max_len: int = 5, *, generator: torch.Generator | None = None
) -> list[tuple[int, ...]]:
    """``n`` strings of digits 0-9, each of a length drawn uniformly from min_len..max_len.

    Example:
        >>> random_digits(3, 1, 2, generator=torch.Generator().manual_seed(0))
        [(0,), (3, 9), (7, 3)]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"expected n to be a positive int, got {n!r}")
    if not (isinstance(min_len, int) and isinstance(max_len, int) and 1 <= min_len <= max_len):
        raise ValueError(f"expected 1 <= min_len <= max_len, got {min_len!r} and {max_len!r}")
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)
    return [tuple(torch.randint(0, 10, (int(k),), generator=generator).tolist())
            for k in lengths]


def split_variants(
    variants: Sequence[str] = VARIANTS, sizes: Sequence[int] = (24, 6, 6), seed: int = 0
) -> tuple[tuple[str, ...], ...]:
    """Shuffle the variants (speakers) and cut them into disjoint groups of the given sizes.

    Example:
        >>> train, valid, test = split_variants()
        >>> len(train), len(valid), len(test), set(train) & set(test)
        (24, 6, 6, set())
    """
    if len(set(variants)) != len(variants):
        raise ValueError(f"expected distinct variants, got {list(variants)!r}")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"expected positive int sizes, got {list(sizes)!r}")
    if sum(sizes) > len(variants):
        raise ValueError(f"expected sizes summing to at most {len(variants)} variants, "
                         f"got {list(sizes)!r}")
    order = torch.randperm(len(variants), generator=torch.Generator().manual_seed(seed)).tolist()
    shuffled = [variants[i] for i in order]
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return tuple(tuple(shuffled[s : s + n]) for s, n in zip(starts, sizes, strict=True))


@dataclass(frozen=True)
class SpokenDigits:
    """Utterances of digit strings: waveforms, the digits said, the voice and the noise level."""

    waveforms: list[Tensor]
    digits: list[tuple[int, ...]]
    voices: list[Voice]
    snr_db: Tensor  # (n,) signal-to-noise ratio of the added white noise, in dB

    def __len__(self) -> int:
        return len(self.digits)


def _check_range(name: str, pair, low: float, high: float) -> None:
    if len(pair) != 2 or not low <= pair[0] <= pair[1] <= high:
        raise ValueError(f"expected {name} as (low, high) within [{low}, {high}], got {pair!r}")


def spoken_digits(
    n: int,
    variants: Sequence[str],
    accents: Sequence[str] = ACCENTS,
    *,
    min_len: int = 2,
    max_len: int = 5,
    rate: tuple[int, int] = (130, 250),
    pitch: tuple[int, int] = (25, 75),
    snr_db: tuple[float, float] = (10.0, 30.0),
    seed: int = 0,
    workers: int = 2,
) -> SpokenDigits:
    """``n`` spoken digit strings, each by a random voice, with white noise added.

    For utterance ``i``: digits from :func:`random_digits`; an accent and a variant drawn
    uniformly from ``accents`` and ``variants``; a rate and a pitch drawn uniformly from their
    ranges; the waveform from :func:`synthesize`; then white Gaussian noise at a
    signal-to-noise ratio drawn uniformly from ``snr_db`` (power of the whole waveform over
    power of the noise).

    Args:
        n: the number of utterances.
        variants: the speakers to draw from (keep them disjoint between splits).
        accents: the accents to draw from.
        min_len, max_len: shortest and longest digit string.
        rate: words per minute, (low, high).
        pitch: eSpeak NG pitch, (low, high).
        snr_db: signal-to-noise ratio in dB, (low, high).
        seed: seeds every draw; the same arguments give the same data set.
        workers: synthesis processes (part of what the samples depend on, see
            :func:`synthesize`).

    Example:
        >>> data = spoken_digits(4, ["m3", "f2"], seed=1)
        >>> len(data), data.voices[0].variant in ("m3", "f2"), len(data.waveforms[0]) > 1000
        (4, True, True)
    """
    if isinstance(variants, str) or isinstance(accents, str) or not variants or not accents:
        raise ValueError(f"expected non-empty lists of variants and accents, got {variants!r} "
                         f"and {accents!r}")
    _check_range("rate", rate, 80, 450)
    _check_range("pitch", pitch, 0, 99)
    _check_range("snr_db", snr_db, -20.0, 100.0)
    g = torch.Generator().manual_seed(seed)
    digits = random_digits(n, min_len, max_len, generator=g)
    a = torch.randint(len(accents), (n,), generator=g).tolist()
    v = torch.randint(len(variants), (n,), generator=g).tolist()
    r = torch.randint(rate[0], rate[1] + 1, (n,), generator=g).tolist()
    p = torch.randint(pitch[0], pitch[1] + 1, (n,), generator=g).tolist()
    voices = [Voice(accents[a[i]], variants[v[i]], r[i], p[i]) for i in range(n)]
    texts = [" ".join(DIGIT_WORDS[d] for d in ds) for ds in digits]
    clean = synthesize(texts, voices, workers=workers)
    snr = snr_db[0] + (snr_db[1] - snr_db[0]) * torch.rand(n, generator=g)
    noisy = []
    for wave, s in zip(clean, snr.tolist(), strict=True):
        noise = torch.randn(len(wave), generator=g)
        noise_rms = wave.pow(2).mean().sqrt() * 10 ** (-s / 20)
        noisy.append(wave + noise_rms * noise)
    return SpokenDigits(noisy, digits, voices, snr)


def hz_to_mel(f: Tensor | float) -> Tensor:
    """The mel scale of O'Shaughnessy (as in HTK): :math:`m = 2595 \\log_{10}(1 + f / 700)`."""
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(f, dtype=torch.float64) / 700.0)


def mel_to_hz(m: Tensor | float) -> Tensor:
    """The inverse of :func:`hz_to_mel`: :math:`f = 700 (10^{m / 2595} - 1)`."""
    return 700.0 * (10.0 ** (torch.as_tensor(m, dtype=torch.float64) / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int, n_mels: int, sample_rate: int = SAMPLE_RATE, f_min: float = 0.0,
    f_max: float | None = None,
) -> Tensor:
    """Triangular filters, equally spaced on the mel scale, over the bins of an FFT.

    With :math:`n_\\text{mels} + 2` frequencies :math:`f_0 < f_1 < \\dots` equally spaced in mel
    between ``f_min`` and ``f_max``, filter :math:`k = 1, \\dots, n_\\text{mels}` weighs the
    bin at frequency :math:`f` by

    .. math::
        w_k(f) = \\max\\Bigl(0, \\min\\Bigl(\\frac{f - f_{k-1}}{f_k - f_{k-1}},
        \\frac{f_{k+1} - f}{f_{k+1} - f_k}\\Bigr)\\Bigr),

    a triangle that rises from :math:`f_{k-1}` to 1 at :math:`f_k` and falls to 0 at
    :math:`f_{k+1}` (HTK's filters, without area normalisation).

    Shape:
        ``(n_fft // 2 + 1, n_mels)``, float32: a power spectrum ``(..., n_fft // 2 + 1)`` times
        this matrix is the mel spectrum ``(..., n_mels)``.

    Example:
        >>> fb = mel_filterbank(512, 40)
        >>> fb.shape, float(fb.max()) <= 1.0
        (torch.Size([257, 40]), True)
    """
    if f_max is None:
        f_max = sample_rate / 2
    for name, value in (("n_fft", n_fft), ("n_mels", n_mels), ("sample_rate", sample_rate)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"expected {name} to be a positive int, got {value!r}")
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"expected 0 <= f_min < f_max <= sample_rate / 2 = {sample_rate / 2}, "
                         f"got f_min={f_min!r}, f_max={f_max!r}")
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # bins
    edges = mel_to_hz(torch.linspace(float(hz_to_mel(f_min)), float(hz_to_mel(f_max)),
                                     n_mels + 2, dtype=torch.float64))  # (n_mels + 2,)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]  # (n_mels,) each
    rising = (freqs[:, None] - lower) / (centre - lower)  # (bins, n_mels)
    falling = (upper - freqs[:, None]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def log_mel(
    waveform: Tensor,
    *,
    sample_rate: int = SAMPLE_RATE,
    n_fft: int = 512,
    hop_length: int = 441,
    n_mels: int = 40,
    f_min: float = 0.0,
    f_max: float | None = 8000.0,
    eps: float = 1e-10,
) -> Tensor:
    """Log-mel spectrogram: :math:`\\log(\\epsilon + |\\mathrm{STFT}(x)|^2 F)`.

    Frame :math:`t` is the waveform around sample :math:`t \\cdot` ``hop_length`` (the signal
    is padded with ``n_fft // 2`` zeros on both sides), times a periodic Hann window of
    ``n_fft`` samples; its power spectrum times the filterbank :math:`F` of
    :func:`mel_filterbank` gives ``n_mels`` band energies, of which we take the log. The
    defaults are 23 ms windows every 20 ms at 22 050 Hz, 40 bands up to 8 kHz.

    Shape:
        - waveform: ``(samples,)`` or ``(N, samples)``, float.
        - output: ``(frames, n_mels)`` or ``(N, frames, n_mels)``, with
          ``frames = 1 + samples // hop_length``; on the waveform's device.

    Example:
        >>> log_mel(torch.zeros(SAMPLE_RATE)).shape
        torch.Size([51, 40])
    """
    if not isinstance(waveform, Tensor) or waveform.dim() not in (1, 2) \
            or not waveform.is_floating_point():
        got = (f"{tuple(waveform.shape)} {waveform.dtype}" if isinstance(waveform, Tensor)
               else type(waveform).__name__)
        raise ValueError(f"expected a float waveform of shape (samples,) or (N, samples), "
                         f"got {got}")
    if waveform.shape[-1] < 1:
        raise ValueError("expected at least one sample, got an empty waveform")
    if isinstance(hop_length, bool) or not isinstance(hop_length, int) or hop_length < 1:
        raise ValueError(f"expected hop_length to be a positive int, got {hop_length!r}")
    fb = mel_filterbank(n_fft, n_mels, sample_rate, f_min, f_max).to(waveform)
    window = torch.hann_window(n_fft, periodic=True, dtype=waveform.dtype, device=waveform.device)
    spec = torch.stft(waveform, n_fft, hop_length, window=window, center=True,
                      pad_mode="constant", return_complex=True)  # (..., bins, frames)
    power = spec.abs().pow(2).transpose(-1, -2)  # (..., frames, bins)
    return torch.log(power @ fb + eps)  # (..., frames, n_mels)


def features(
    waveforms: Sequence[Tensor], *, normalize: bool = True, **log_mel_args
) -> tuple[Tensor, Tensor]:
    """Log-mel spectrograms of waveforms of different lengths, padded into one batch.

    The waveforms are padded with zeros to the longest and transformed together; because
    :func:`log_mel` pads with zeros too, each utterance's real frames are the same as its own
    :func:`log_mel`. With ``normalize``, each band of each utterance is shifted and scaled
    to mean 0 and variance 1 over its real frames (per-utterance mean and variance
    normalisation), which removes the loudness and much of the colour of a voice and
    channel. Padding frames are set to 0.

    Args:
        waveforms: ``N`` 1-D float tensors.
        normalize: normalise each utterance's bands.
        **log_mel_args: passed to :func:`log_mel`.

    Returns:
        ``(x, lengths)``: ``x`` of shape ``(N, T, n_mels)``, and the number of real frames of
        each utterance, ``(N,)`` ``torch.long``.

    Example:
        >>> x, lengths = features([torch.randn(4410), torch.randn(22050)])
        >>> x.shape, lengths.tolist()
        (torch.Size([2, 51, 40]), [11, 51])
    """
    if isinstance(waveforms, Tensor) or len(waveforms) == 0:
        raise ValueError("expected a non-empty list of 1-D waveforms")
    for i, w in enumerate(waveforms):
        if not isinstance(w, Tensor) or w.dim() != 1 or len(w) == 0:
            got = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise ValueError(f"expected non-empty 1-D waveforms, got {got} at index {i}")
    hop = log_mel_args.get("hop_length", 441)
    padded = torch.nn.utils.rnn.pad_sequence(list(waveforms), batch_first=True)  # (N, samples)
    x = log_mel(padded, **log_mel_args)  # (N, T, n_mels)
    lengths = torch.tensor([1 + len(w) // hop for w in waveforms])
    real = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)  # (N, T, 1)
    real = real.to(x.device)
    if normalize:
        count = lengths.to(x.device).view(-1, 1, 1)
        mean = (x * real).sum(1, keepdim=True) / count
        var = ((x - mean).pow(2) * real).sum(1, keepdim=True) / count
        x = (x - mean) / (var + 1e-5).sqrt()
    return x * real, lengths
