"""TensorFlow Recommenders two-tower retrieval with in-batch softmax and the logQ correction.

Query tower: an id embedding, plus a projection of the mean embedding of the query's history
(users: the anime in their list, without the target itself), plus a projection of dense query
features (anime-anime: the anchor's own features). Candidate tower: an id embedding plus a
projection of the anime's features. Both are L2-normalised; logits are cosine / temperature.

Popular anime appear as in-batch negatives far more often than rare ones; TFRS subtracts
log(sampling probability) from each candidate's logit (`candidate_sampling_probability`), so the
softmax estimates the full-catalogue one instead of punishing popular anime.

The trained towers are exported as plain arrays (`Towers`): batch top-k then needs numpy only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .tfsetup import tensorflow
from .topk import topk


@dataclass
class Towers:
    query_embedding: np.ndarray | None   # [n_queries, d]; None: queries are embedded by history/features only
    item_vectors: np.ndarray             # [n_items, d] (L2-normalised when `normalize`)
    history_embedding: np.ndarray | None = None   # [n_items + 1, d] (last row: padding)
    history_kernel: np.ndarray | None = None      # [d, d]
    history_bias: np.ndarray | None = None
    feature_kernel: np.ndarray | None = None      # [n_query_features, d]
    feature_bias: np.ndarray | None = None
    normalize: np.ndarray = field(default_factory=lambda: np.array(True))
    epoch_seconds: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)  # the validation score after each epoch

    def save(self, path: Path) -> None:
        arrays = {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}
        arrays["epoch_seconds"] = np.asarray(self.epoch_seconds, "float64")
        arrays["validation"] = np.asarray(self.validation, "float64")
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: Path) -> Towers:
        with np.load(path) as z:
            values = {k: z[k] for k in z.files}
        values["epoch_seconds"] = values.get("epoch_seconds", np.empty(0)).tolist()
        values["validation"] = values.get("validation", np.empty(0)).tolist()
        values.setdefault("query_embedding", None)
        return cls(**values)

    def queries(self, queries: np.ndarray, history: sp.csr_matrix | None = None,
                query_features: np.ndarray | None = None) -> np.ndarray:
        """L2-normalised query vectors; `history` rows are the queries' item lists (any list, so users
        are embedded with everything known about them at serving time)."""
        if self.query_embedding is not None:
            q = self.query_embedding[queries].astype("float32")
        else:
            q = np.zeros((len(queries), self.item_vectors.shape[1]), "float32")
        if self.history_embedding is not None and history is not None:
            h = history[queries].astype("float32")
            counts = np.asarray(h.sum(1)).ravel()
            mean = (h @ self.history_embedding[:-1]) / np.maximum(counts, 1)[:, None]
            proj = mean @ self.history_kernel + self.history_bias
            q = q + np.where(counts[:, None] > 0, proj, 0)
        if self.feature_kernel is not None and query_features is not None:
            q = q + query_features[queries] @ self.feature_kernel + self.feature_bias
        if not bool(self.normalize):
            return q
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        return q / np.maximum(norms, 1e-12)

    def top(self, queries: np.ndarray, n: int, mask: sp.csr_matrix | None = None,
            history: sp.csr_matrix | None = None, query_features: np.ndarray | None = None,
            batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Batch top-n items per query: (items [len, n] with -1 pads, cosine scores [len, n])."""
        def score(chunk_positions: np.ndarray) -> np.ndarray:
            qv = self.queries(queries[chunk_positions], history, query_features)
            return qv @ self.item_vectors.T
        # topk() masks by row of `mask`, so hand it rows aligned with `queries`.
        aligned = mask[queries] if mask is not None else None
        positions = np.arange(len(queries))
        items = topk(score, positions, n, aligned, batch=batch)
        scores = np.zeros(items.shape, "float32")
        for start in range(0, len(queries), batch):
            sl = slice(start, start + batch)
            qv = self.queries(queries[sl], history, query_features)
            it = items[sl]
            scores[sl] = np.where(it >= 0, np.einsum("id,ikd->ik", qv, self.item_vectors[np.maximum(it, 0)]), -np.inf)
        return items, scores


def train(query_idx: np.ndarray, item_idx: np.ndarray, *, n_queries: int, n_items: int,
          item_features: np.ndarray, dim: int, epochs: int, batch_size: int, learning_rate: float,
          temperature: float, seed: int, threads: int, history: np.ndarray | None = None,
          query_features: np.ndarray | None = None, normalize: bool = True, query_ids: bool = True,
          verbose: int = 0, resample: Callable[[int], np.ndarray] | None = None, l2: float = 0.0,
          validate: Callable[[Towers], float] | None = None, patience: int = 2) -> Towers:
    """Fit the two towers on positive (query, item) pairs; `history` is [n_queries, L] item positions
    padded with n_items.

    `resample(epoch)`: a fresh history sample for each epoch (a fixed sample lets the towers
    memorise which items stand for a long list). `l2`: weight decay on the embedding rows each
    batch uses. `validate(towers)`: a score on held-out data after every epoch (higher is better);
    training stops after `patience` epochs without a better one and the best epoch's towers are
    returned."""
    if len(query_idx) == 0:
        raise ValueError("no positive pairs to train the retrieval model on")
    tf = tensorflow(threads, seed)
    import tensorflow_recommenders as tfrs
    keras = tf.keras

    counts = np.bincount(item_idx, minlength=n_items).astype("float64")
    sampling_probability = (counts / counts.sum())[item_idx].astype("float32")

    class TwoTower(tfrs.Model):
        def __init__(self):
            super().__init__()
            init = keras.initializers.RandomNormal(stddev=0.05, seed=seed)
            if query_ids:
                self.query_embedding = keras.layers.Embedding(n_queries, dim, embeddings_initializer=init)
            self.item_embedding = keras.layers.Embedding(n_items, dim, embeddings_initializer=init)
            self.item_projection = keras.layers.Dense(dim)
            self.item_features = tf.constant(item_features, dtype=tf.float32)
            if history is not None:
                self.history_items = tf.Variable(history, dtype=tf.int32, trainable=False)
                self.history_embedding = keras.layers.Embedding(n_items + 1, dim, embeddings_initializer=init)
                self.history_projection = keras.layers.Dense(dim)
            if query_features is not None:
                self.query_features = tf.constant(query_features, dtype=tf.float32)
                self.query_projection = keras.layers.Dense(dim)
            self.task = tfrs.tasks.Retrieval(temperature=temperature, remove_accidental_hits=True)

        def query_vectors(self, queries, targets):
            """(query vectors, the weight-decay penalty of the history rows they used)"""
            penalty = tf.constant(0.0)
            q = self.query_embedding(queries) if query_ids else tf.zeros((tf.shape(queries)[0], dim))
            if history is not None:
                hist = tf.gather(self.history_items, queries)
                # The target must not be its own evidence.
                keep = tf.cast((hist != n_items) & (hist != tf.cast(targets[:, None], tf.int32)), tf.float32)
                emb = self.history_embedding(hist) * keep[..., None]
                if l2:
                    penalty = l2 * tf.reduce_sum(tf.square(emb)) / tf.cast(tf.shape(queries)[0], tf.float32)
                mean = tf.reduce_sum(emb, 1) / tf.maximum(tf.reduce_sum(keep, 1, keepdims=True), 1.0)
                has = tf.cast(tf.reduce_sum(keep, 1, keepdims=True) > 0, tf.float32)
                q = q + self.history_projection(mean) * has
            if query_features is not None:
                q = q + self.query_projection(tf.gather(self.query_features, queries))
            return (tf.math.l2_normalize(q, axis=1) if normalize else q), penalty

        def item_vectors(self, items):
            v = self.item_embedding(items) + self.item_projection(tf.gather(self.item_features, items))
            return tf.math.l2_normalize(v, axis=1) if normalize else v

        def compute_loss(self, features, training=False):
            q, penalty = self.query_vectors(features["query"], features["item"])
            v = self.item_vectors(features["item"])
            loss = self.task(q, v, candidate_sampling_probability=features["prob"],
                             candidate_ids=features["item"], compute_metrics=False)
            if l2:
                rows = self.item_embedding(features["item"])
                loss += l2 * tf.reduce_mean(tf.reduce_sum(tf.square(rows), 1))
                loss += penalty
            return loss

    model = TwoTower()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate))
    data = (tf.data.Dataset.from_tensor_slices({"query": query_idx.astype("int32"), "item": item_idx.astype("int32"),
                                                "prob": sampling_probability})
            .shuffle(min(len(query_idx), 1_000_000), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size).prefetch(2))
    timer = _EpochTimer(keras)

    def export() -> Towers:
        item_vectors = np.concatenate([model.item_vectors(tf.constant(chunk)).numpy()
                                       for chunk in np.array_split(np.arange(n_items, dtype="int32"),
                                                                   max(1, n_items // 8192))])
        query_embedding = model.query_embedding.embeddings.numpy() if query_ids else None
        towers = Towers(query_embedding=query_embedding, item_vectors=item_vectors, normalize=np.array(normalize),
                        epoch_seconds=list(timer.seconds))
        if history is not None:
            towers.history_embedding = model.history_embedding.embeddings.numpy()
            towers.history_kernel, towers.history_bias = (w.numpy() for w in model.history_projection.weights)
        if query_features is not None:
            towers.feature_kernel, towers.feature_bias = (w.numpy() for w in model.query_projection.weights)
        return towers

    best: dict = {"score": -np.inf, "towers": None, "waited": 0, "scores": []}

    class Control(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if resample is not None and epoch > 0 and history is not None:
                model.history_items.assign(resample(epoch))

        def on_epoch_end(self, epoch, logs=None):
            if validate is None:
                return
            towers = export()
            score = float(validate(towers))
            best["scores"].append(score)
            if score > best["score"]:
                best.update(score=score, towers=towers, waited=0)
            else:
                best["waited"] += 1
                if best["waited"] >= patience:
                    self.model.stop_training = True

    model.fit(data, epochs=epochs, verbose=verbose, callbacks=[timer, Control()])
    towers = best["towers"] if best["towers"] is not None else export()
    towers.epoch_seconds = list(timer.seconds)
    towers.validation = list(best["scores"])
    return towers


class _EpochTimer:
    def __new__(cls, keras):
        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)
        return Timer()
