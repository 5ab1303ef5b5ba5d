"""The real encoder: golden vector, offline loading, deduplication, caches, length flag."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from grader.embed import Encoder, default_model_path, load_encoder, split_sentences

GOLDEN_SENTENCE = "Weight decay adds a penalty on large weights to the loss."
# First five components and the sum of the embedding of GOLDEN_SENTENCE with the packaged
# all-MiniLM-L6-v2: a change of model files, tokenizer, pooling or normalisation breaks it.
GOLDEN_HEAD = [-0.02785, 0.07138, 0.05727, 0.07399, 0.04166]
GOLDEN_SUM = 0.45683


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    if not default_model_path().is_dir():
        pytest.skip("packaged model not installed")
    return load_encoder()


def test_golden_vector(encoder: Encoder) -> None:
    vec = encoder.encode([GOLDEN_SENTENCE])[0]
    assert vec.shape == (384,)
    assert encoder.max_seq_length == 256
    np.testing.assert_allclose(vec[:5], GOLDEN_HEAD, atol=2e-4)
    assert float(vec.sum()) == pytest.approx(GOLDEN_SUM, abs=2e-3)
    assert float(np.linalg.norm(vec)) == pytest.approx(1.0, abs=1e-5)


def test_identical_texts_encoded_once_and_cached(encoder: Encoder) -> None:
    before = encoder.cache_info()["encoded"]
    texts = ["Tanh is zero-centred.", "Tanh is zero-centred.", "ReLU does not saturate."]
    vecs = encoder.encode(texts)
    assert vecs.shape == (3, 384)
    np.testing.assert_array_equal(vecs[0], vecs[1])
    assert encoder.cache_info()["encoded"] - before <= 2
    again = encoder.encode(texts[::-1])
    assert encoder.cache_info()["encoded"] - before <= 2
    np.testing.assert_array_equal(again[0], vecs[2])


@pytest.mark.parametrize("quantize", [False, True], ids=["fp32", "int8"])
def test_vectors_do_not_depend_on_batch_company(encoder: Encoder, quantize: bool) -> None:
    """One grade per answer: a text's vector is the same bit for bit whichever texts are
    encoded with it (int8 scales and BLAS blocking would otherwise depend on the batch)."""
    model = load_encoder(quantize=True).model if quantize else encoder.model
    texts = [
        "The p-value is the chance of data this extreme if the null hypothesis holds.",
        "ok",
        "Mitochondria make most of the cell's ATP by oxidative phosphorylation.",
        "A larger sample shrinks the standard error, not the standard deviation.",
    ]
    fresh = Encoder(quantize=quantize)
    fresh._model = model  # same weights, empty caches
    together = fresh._forward(texts)
    alone = np.stack([fresh._forward([t])[0] for t in texts])
    mixed = fresh._forward([texts[2], "filler sentence of another length entirely", texts[0]])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(mixed[0], alone[2])
    np.testing.assert_array_equal(mixed[2], alone[0])


@pytest.mark.parametrize("quantize", [False, True], ids=["fp32", "int8"])
def test_forward_is_sentence_transformers_encode_bit_for_bit(
    encoder: Encoder, quantize: bool
) -> None:
    """`_forward` runs the pass itself (grader.embed.bert_pass over the packaged BERT), not
    SentenceTransformer.encode: its vectors must be encode's, bit for bit, or every stored
    figure would move."""
    from grader.embed.bert_pass import bert_pass

    model = load_encoder(quantize=True).model if quantize else encoder.model
    assert bert_pass(model) is not None  # the packaged model takes the written-out pass
    texts = ["ok", GOLDEN_SENTENCE, "Ünïcødé ñ 漢字 🙂 $x^2$", "word " * 400]  # last: truncated
    fresh = Encoder(quantize=quantize)
    fresh._model = model
    for text in texts:
        want = model.encode(
            [text], batch_size=1, normalize_embeddings=True, show_progress_bar=False
        )[0]
        np.testing.assert_array_equal(fresh._forward([text])[0], want)


def test_pinned_exemplars_survive_lru_eviction() -> None:
    if not default_model_path().is_dir():
        pytest.skip("packaged model not installed")
    small = Encoder(cache_size=2)
    small._model = load_encoder().model  # share the loaded weights; only the caches differ
    small.encode(["exemplar one"], pin=True)
    small.encode(["a", "b", "c"])
    info = small.cache_info()
    assert info["lru"] == 2 and info["pinned"] == 1
    encoded = info["encoded"]
    small.encode(["exemplar one"])
    assert small.cache_info()["encoded"] == encoded


def test_too_long_flag(encoder: Encoder) -> None:
    assert not encoder.too_long("short sentence")
    assert encoder.too_long("word " * 400)
    assert encoder.too_long("x" * 100_000)


def test_same_object_per_path_and_thread_safe_loading() -> None:
    if not default_model_path().is_dir():
        pytest.skip("packaged model not installed")
    got: list[Encoder] = []
    threads = [threading.Thread(target=lambda: got.append(load_encoder())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(e is got[0] for e in got)
    assert load_encoder(default_model_path()) is got[0]


def test_missing_model_folder_fails_without_download(tmp_path: object) -> None:
    enc = Encoder(f"{tmp_path}/nothing-here")
    with pytest.raises(FileNotFoundError):
        enc.encode(["x"])


def test_empty_input(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, 384)


def test_split_sentences() -> None:
    text = "First point. Second point!  \n\n- a list item\n- another one\nx = 3.5 is kept"
    assert split_sentences(text) == [
        "First point.",
        "Second point!",
        "- a list item",
        "- another one x = 3.5 is kept",
    ]
    assert split_sentences("   \n ... !!") == []
    assert len(split_sentences("a. " * 1000)) == 64
