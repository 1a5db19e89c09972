"""The eSpeak NG worker behind :mod:`rnnlib.data.speech`: ctypes calls in a fresh process.

eSpeak NG keeps state between utterances inside its library (the phase of its pitch
"flutter", the phase of the glottal wave), which ``espeak_Terminate`` does not reset. Two
calls with the same text and voice in one process therefore give slightly different samples.
:func:`rnnlib.data.speech.synthesize` runs this file as a script in a new Python process for
each batch of requests, so that a batch's waveforms depend on nothing but the batch.

This file imports only the standard library and NumPy (not torch, not rnnlib), so a worker
starts in a fraction of a second. Protocol: ``python -I _espeak.py LIBRARY DATA_DIR`` reads a
JSON list of ``[text, voice_name, rate, pitch]`` from stdin and writes, for each request in
order, a little-endian ``uint32`` sample count followed by that many ``int16`` samples
(22 050 Hz, mono) to stdout. Errors go to stderr with exit status 2.
"""

from __future__ import annotations

import ctypes
import json
import struct
import sys

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2  # synthesise into a callback; no audio device is opened
INITIALIZE_DONT_EXIT = 0x8000
RATE, PITCH = 1, 3  # espeak_PARAMETER
POS_CHARACTER, CHARS_UTF8 = 1, 1

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class ESpeak:
    """A handle on the eSpeak NG shared library, initialised for in-memory synthesis."""

    def __init__(self, library: str, data: str) -> None:
        self.lib = lib = ctypes.CDLL(library)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self.sample_rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed with data directory {data!r}")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: ctypes does not
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0: go on synthesising

    def say(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        """The int16 samples of ``text`` spoken by ``voice`` (e.g. ``"en-us+m3"``)."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        self.lib.espeak_ng_SetRandSeed(0)  # the Klatt voices' noise source
        self.lib.espeak_SetParameter(RATE, rate, 0)
        self.lib.espeak_SetParameter(PITCH, pitch, 0)
        self._chunks = []
        data = text.encode()
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8,
                                       None, None)
        if status != 0 or self.lib.espeak_Synchronize() != 0:
            raise RuntimeError(f"espeak_Synth failed (status {status}) for {text!r}")
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


def main(argv: list[str]) -> int:
    library, data = argv[1], argv[2]
    requests = json.loads(sys.stdin.buffer.read())
    engine = ESpeak(library, data)
    out = sys.stdout.buffer
    for text, voice, rate, pitch in requests:
        samples = engine.say(text, voice, int(rate), int(pitch)).astype("<i2")
        out.write(struct.pack("<I", len(samples)))
        out.write(samples.tobytes())
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as exc:  # report to the parent, which raises it with context
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(2)
