"""MiniLM's six transformer layers as an ONNX graph, built in memory from the weights.

Why a graph at all: numpy hands each small (a dozen tokens) matrix product to
OpenBLAS, which re-packs the whole weight matrix on every call; a sentence then
costs 13 ms whatever its length. onnxruntime packs the weights once, when the
session starts, and runs the same arithmetic in 5.7 ms (2.7 ms with the weights
quantized to 8 bits, as served: bot/understanding/embeddings.py).
The graph is the same computation as ``SentenceEncoder.reference`` (numpy), and
tests/test_embeddings.py checks the two agree.

Input ``x``: the embedding layer's output, [n tokens, 384] (computed in numpy from
the memory-mapped word table, so the 47 MB table is never copied). Output
``pooled``: the mean of the last layer over the tokens, [384].
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

HIDDEN = 384
HEADS = 12
LAYERS = 6
EPS = 1e-12
OPSET = 17  # LayerNormalization, and ReduceMean with its axes as an attribute
VERSION = 2  # bump when the graph changes, so a saved graph file is rebuilt


def build(w: Mapping[str, np.ndarray]) -> bytes:
    """The serialized ONNX model for the encoder layers of BERT weights named as in Hugging Face."""
    from onnx import TensorProto, helper, numpy_helper

    head = HIDDEN // HEADS
    nodes = []
    initializers = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.array(value, order="C"), name))  # 0-d stays 0-d
        return name

    def op(kind: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], **attrs))
        return output

    const("qkv_shape", np.array([0, 3, HEADS, head], np.int64))
    const("row_shape", np.array([0, HIDDEN], np.int64))
    const("half", np.array(0.5, np.float32))
    const("one", np.array(1.0, np.float32))
    const("inv_sqrt2", np.array(1 / math.sqrt(2), np.float32))
    for part, index in (("q", 0), ("k", 1), ("v", 2)):
        const(f"pick_{part}", np.array(index, np.int64))
    # the query carries the attention's 1/sqrt(head) scale, folded into its weights
    scale = np.concatenate([np.full(HIDDEN, 1 / math.sqrt(head)), np.ones(2 * HIDDEN)]).astype(np.float32)

    x = "x"
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def weight(name: str, p: str = p) -> np.ndarray:
            return np.asarray(w[p + name], dtype=np.float32)

        parts = ("query", "key", "value")
        wqkv = np.concatenate([weight(f"attention.self.{n}.weight") for n in parts]).T * scale
        bqkv = np.concatenate([weight(f"attention.self.{n}.bias") for n in parts]) * scale
        t = op("MatMul", [x, const(f"{i}.wqkv", wqkv)], f"{i}.qkv")
        t = op("Add", [t, const(f"{i}.bqkv", bqkv)], f"{i}.qkv_b")
        t = op("Reshape", [t, "qkv_shape"], f"{i}.qkv_r")
        t = op("Transpose", [t], f"{i}.qkv_t", perm=[1, 2, 0, 3])  # [3, heads, n, head]
        q, k, v = (op("Gather", [t, f"pick_{n}"], f"{i}.{n}", axis=0) for n in ("q", "k", "v"))
        k = op("Transpose", [k], f"{i}.k_t", perm=[0, 2, 1])
        s = op("Softmax", [op("MatMul", [q, k], f"{i}.scores")], f"{i}.weights", axis=-1)
        a = op("Transpose", [op("MatMul", [s, v], f"{i}.mixed")], f"{i}.mixed_t", perm=[1, 0, 2])
        a = op("Reshape", [a, "row_shape"], f"{i}.mixed_r")
        a = op("MatMul", [a, const(f"{i}.wo", weight("attention.output.dense.weight").T)], f"{i}.out")
        a = op("Add", [a, const(f"{i}.bo", weight("attention.output.dense.bias"))], f"{i}.out_b")
        a = op("Add", [a, x], f"{i}.res1")
        x = op(
            "LayerNormalization",
            [
                a,
                const(f"{i}.g1", weight("attention.output.LayerNorm.weight")),
                const(f"{i}.b1", weight("attention.output.LayerNorm.bias")),
            ],
            f"{i}.x1",
            axis=-1,
            epsilon=EPS,
        )
        h = op("MatMul", [x, const(f"{i}.wi", weight("intermediate.dense.weight").T)], f"{i}.inter")
        h = op("Add", [h, const(f"{i}.bi", weight("intermediate.dense.bias"))], f"{i}.inter_b")
        # BERT's exact GELU: h * (1 + erf(h / sqrt 2)) / 2
        g = op("Add", [op("Erf", [op("Mul", [h, "inv_sqrt2"], f"{i}.erf_in")], f"{i}.erf"), "one"], f"{i}.erf_1")
        h = op("Mul", [op("Mul", [h, g], f"{i}.gelu0"), "half"], f"{i}.gelu")
        h = op("MatMul", [h, const(f"{i}.wo2", weight("output.dense.weight").T)], f"{i}.ff")
        h = op("Add", [h, const(f"{i}.bo2", weight("output.dense.bias"))], f"{i}.ff_b")
        h = op("Add", [h, x], f"{i}.res2")
        x = op(
            "LayerNormalization",
            [h, const(f"{i}.g2", weight("output.LayerNorm.weight")), const(f"{i}.b2", weight("output.LayerNorm.bias"))],
            f"{i}.x2",
            axis=-1,
            epsilon=EPS,
        )
    op("ReduceMean", [x], "pooled", axes=[0], keepdims=0)
    graph = helper.make_graph(
        nodes,
        "minilm_layers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", HIDDEN])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [HIDDEN])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)
    return model.SerializeToString()
