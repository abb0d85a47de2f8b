#!/usr/bin/python3
"""Fixtures for the speech tests (tests/speech/), written with numpy and Python's wave module only,
so that they are independent of the libsndfile + FFTW code they check.

tests/fixtures/speech/
  good.wav       16 kHz mono 16-bit, 0.25 s of a 440 Hz sine at amplitude 0.5
  u8.wav         8 kHz mono 8-bit unsigned, a 300 Hz sine at amplitude 0.5
  stereo.wav     16 kHz stereo 16-bit: left 0.5·sin(440 Hz), right -0.25 constant
  rate44k.wav    44.1 kHz mono 16-bit, a 1 kHz sine at amplitude 0.5, 0.2 s
  truncated.wav  good.wav cut in the middle of its data (the header still declares all of it)
  header_only.wav the first 20 bytes of good.wav
  empty.wav      a valid WAV header with no frames
  logmel.safetensors  input [4000] (a chirp plus noise, 16 kHz) and log-mel [40,23] and [80,23]
                      computed in float64 (periodic Hann 400, hop 160, FFT 512, HTK mel 20-8000 Hz,
                      unnormalised triangles, log(max(E, 1e-6)))

Run: /usr/bin/python3 scripts/gen_speech_fixtures.py
"""
import json
import os
import struct
import wave

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "speech")


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype="<f4")
        assert np.isfinite(arr).all(), name
        blob = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_wav(path, frames, rate, width):
    """frames: float array [n] or [n, channels] in [-1, 1]."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim == 1:
        frames = frames[:, None]
    with wave.open(path, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 1:
            data = np.clip(np.round(frames * 128 + 128), 0, 255).astype(np.uint8)
        else:
            data = np.clip(np.round(frames * 32768), -32768, 32767).astype("<i2")
        w.writeframes(data.tobytes())


def sine(freq, rate, seconds, amp=0.5):
    t = np.arange(int(round(rate * seconds))) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def log_mel(x, mels, rate=16000, window=400, hop=160, n_fft=512, fmin=20.0, fmax=8000.0):
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)  # periodic
    frames = 1 + (len(x) - window) // hop
    spec = np.stack([np.abs(np.fft.rfft(x[t * hop:t * hop + window] * hann, n_fft)) ** 2 for t in range(frames)])
    hz_to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    mel_to_hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    fb = np.zeros((mels, n_fft // 2 + 1))
    for m in range(mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        fb[m] = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return np.log(np.maximum(fb @ spec.T, 1e-6))  # [mels, frames]


def main():
    os.makedirs(OUT, exist_ok=True)
    write_wav(os.path.join(OUT, "good.wav"), sine(440, 16000, 0.25), 16000, 2)
    write_wav(os.path.join(OUT, "u8.wav"), sine(300, 8000, 0.25), 8000, 1)
    left = sine(440, 16000, 0.1)
    write_wav(os.path.join(OUT, "stereo.wav"), np.stack([left, np.full_like(left, -0.25)], 1), 16000, 2)
    write_wav(os.path.join(OUT, "rate44k.wav"), sine(1000, 44100, 0.2), 44100, 2)
    good = open(os.path.join(OUT, "good.wav"), "rb").read()
    open(os.path.join(OUT, "truncated.wav"), "wb").write(good[: 44 + 2000])
    open(os.path.join(OUT, "header_only.wav"), "wb").write(good[:20])
    write_wav(os.path.join(OUT, "empty.wav"), np.zeros(0), 16000, 2)

    rng = np.random.default_rng(7)
    t = np.arange(4000) / 16000
    x = 0.3 * np.sin(2 * np.pi * (200 * t + 0.5 * 3000 * t * t / t[-1])) + 0.05 * rng.standard_normal(4000)
    x[1200:1500] = 0.0  # a stretch of digital silence exercises the floor
    x = x.astype(np.float32)
    save_safetensors(os.path.join(OUT, "logmel.safetensors"),
                     {"input": x, "mel40": log_mel(x.astype(np.float64), 40), "mel80": log_mel(x.astype(np.float64), 80)},
                     {"generator": "scripts/gen_speech_fixtures.py"})


if __name__ == "__main__":
    main()
