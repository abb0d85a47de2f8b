#!/usr/bin/python3
"""Reads a Focus checkpoint with PyTorch, without the safetensors package.

A Focus checkpoint is a safetensors file: an 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the raw tensor data. The
model's tensors are under their own names, the optimiser's under "optimizer/<name>"; the metadata
holds "format": "focus-checkpoint-1" and the training state as JSON in "focus".

    /usr/bin/python3 scripts/check_checkpoint.py run/last.safetensors          # names, shapes, state
    /usr/bin/python3 scripts/check_checkpoint.py --json run/last.safetensors   # everything, as JSON

As a module: model, optimizer, state = check_checkpoint.load("run/last.safetensors"), where model
and optimizer are {name: torch.Tensor}: model.load_state_dict(model) works for a torch model with
the same parameter names.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

FORMAT = "focus-checkpoint-1"
OPTIMIZER = "optimizer/"
DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I32": np.int32,
          "I64": np.int64, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class CheckpointError(Exception):
    pass


class NoTorch(Exception):
    pass


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata), checking every length against the file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot open: {e.strerror}")
    if len(data) < 8:
        raise CheckpointError(f"{path}: truncated: {len(data)} bytes")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise CheckpointError(f"{path}: truncated: header length {n}, file has {len(data) - 8}")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: header is not valid JSON: {e}")
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    arrays = {}
    for name, entry in header.items():
        dtype = DTYPES.get(entry.get("dtype"))
        if dtype is None:
            raise CheckpointError(f"{path}: tensor {name!r}: unsupported dtype {entry.get('dtype')!r}")
        shape = tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * np.dtype(dtype).itemsize or end > len(body):
            raise CheckpointError(f"{path}: tensor {name!r}: data_offsets {begin, end} do not fit "
                                  f"shape {list(shape)} or the file")
        arrays[name] = np.frombuffer(body[begin:end], dtype=np.dtype(dtype).newbyteorder("<"),
                                     count=count).reshape(shape)
    return arrays, metadata


def load(path):
    """Returns (model, optimizer, state): two {name: torch.Tensor} and the state as Python data."""
    arrays, metadata = read_safetensors(path)
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Focus checkpoint (metadata format is "
                              f"{metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        state = json.loads(metadata["focus"])
    except (KeyError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: bad \"focus\" state metadata: {e}")
    try:
        import torch  # after the checks: a bad file is refused without the slow import
    except ImportError as e:
        raise NoTorch(f"cannot import torch: {e}")

    model, optimizer = {}, {}
    for name, a in arrays.items():
        # copy(): frombuffer views are read-only and torch wants writable memory.
        t = torch.from_numpy(a.copy())
        if name.startswith(OPTIMIZER):
            optimizer[name[len(OPTIMIZER):]] = t
        else:
            model[name] = t
    return model, optimizer, state


def describe(tensors):
    return {name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                   "values": t.flatten().tolist()} for name, t in sorted(tensors.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--json", action="store_true",
                    help="print tensors (with all values) and state as one JSON document")
    args = ap.parse_args()
    try:
        model, optimizer, state = load(args.checkpoint)
    except CheckpointError as e:
        print(f"check_checkpoint: {e}", file=sys.stderr)
        return 1
    except NoTorch as e:
        print(f"check_checkpoint: {e}", file=sys.stderr)
        return 3
    import torch

    if args.json:
        json.dump({"format": FORMAT, "torch": torch.__version__, "model": describe(model),
                   "optimizer": describe(optimizer), "state": state}, sys.stdout)
        print()
        return 0
    print(f"{args.checkpoint}: {FORMAT}, {os.path.getsize(args.checkpoint)} bytes, "
          f"read with torch {torch.__version__}")
    for title, tensors in (("model", model), ("optimizer", optimizer)):
        count = sum(t.numel() for t in tensors.values())
        print(f"{title}: {len(tensors)} tensors, {count} values")
        for name, t in sorted(tensors.items()):
            stats = ""
            if t.numel() and t.is_floating_point():
                stats = f"  mean {t.mean().item():.4g}  std {t.std().item() if t.numel() > 1 else 0:.4g}"
            print(f"  {name:40s} {str(t.dtype).replace('torch.', ''):8s} {list(t.shape)}{stats}")
    print("state:", json.dumps(state, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
