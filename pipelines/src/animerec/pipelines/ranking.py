"""The user-anime list ranker (userrank.py): a linear term plus a small MLP over each candidate's features,
trained with a listwise softmax cross-entropy (TFRS Ranking task) and early-stopped on held-out NDCG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .tfsetup import tensorflow


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = x.reshape(-1, x.shape[-1])
    mean = flat.mean(0)
    std = flat.std(0)
    std[std < 1e-6] = 1.0
    return mean.astype("float32"), std.astype("float32")


class ListRanker:
    """Scores every candidate of a list from its features: a linear term plus a small MLP (numpy
    forward pass). Trained with a listwise softmax cross-entropy (TFRS Ranking task)."""

    def __init__(self, weights: list[np.ndarray], mean: np.ndarray, std: np.ndarray, names: list[str]):
        self.weights, self.mean, self.std, self.names = weights, mean, std, names

    def score(self, features: np.ndarray) -> np.ndarray:
        x = (features.reshape(-1, features.shape[-1]) - self.mean) / self.std
        w1, b1, w2, b2, w3, b3, lw, lb = self.weights
        h = np.maximum(x @ w1 + b1, 0)
        h = np.maximum(h @ w2 + b2, 0)
        out = (h @ w3 + b3)[:, 0] + (x @ lw + lb)[:, 0]
        return out.reshape(features.shape[:-1])

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, mean=self.mean, std=self.std, names=np.array(self.names),
                     **{f"w{i}": w for i, w in enumerate(self.weights)})

    @classmethod
    def load(cls, path: Path) -> ListRanker:
        with np.load(path) as z:
            n = sum(1 for k in z.files if k.startswith("w"))
            return cls([z[f"w{i}"] for i in range(n)], z["mean"], z["std"], [str(x) for x in z["names"]])


def ndcg_of_scores(scores: np.ndarray, labels: np.ndarray, mask: np.ndarray, n_relevant: np.ndarray,
                   k: int) -> float:
    """Mean NDCG@k of the lists ordered by `scores` (labels 0/1; `n_relevant`: all of each user's
    relevant items, including those missing from the list, as the evaluation counts them)."""
    s = np.where(mask, scores, -np.inf)
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    hits = np.take_along_axis(labels * mask, top, 1)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * disc[:hits.shape[1]]).sum(1)
    ideal = np.cumsum(disc)[np.clip(np.minimum(n_relevant, k), 1, k) - 1]
    ok = n_relevant > 0
    return float((dcg[ok] / ideal[ok]).mean()) if ok.any() else float("nan")


def train_list_ranker(features: np.ndarray, labels: np.ndarray, mask: np.ndarray, names: list[str], *,
                      n_relevant: np.ndarray, hidden: int, epochs: int, batch_size: int, learning_rate: float,
                      l2: float, seed: int, threads: int, holdout: float = 0.2, patience: int = 2,
                      k: int = 20) -> tuple[ListRanker, dict[str, float]]:
    """Softmax cross-entropy over each list (labels 0/1), early-stopped on NDCG@k of a held-out
    share of the lists (`holdout`; the ranker keeps the weights of its best epoch). Returns the
    ranker and {holdout_ndcg, epochs} of that epoch. Lists without a relevant item teach nothing
    and are left out of training."""
    tf = tensorflow(threads, seed)
    import tensorflow_recommenders as tfrs
    keras = tf.keras
    mean, std = _standardise(features[mask])
    x = np.where(mask[..., None], (features - mean) / std, 0).astype("float32")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_hold = int(len(x) * holdout) if holdout > 0 else 0
    hold, fit_rows = order[:n_hold], order[n_hold:]
    useful = fit_rows[labels[fit_rows].sum(1) > 0]

    class Scorer(tfrs.Model):
        def __init__(self):
            super().__init__()
            init = keras.initializers.GlorotUniform(seed=seed)
            reg = keras.regularizers.l2(l2) if l2 else None
            self.hidden1 = keras.layers.Dense(hidden, activation="relu", kernel_initializer=init,
                                              kernel_regularizer=reg)
            self.hidden2 = keras.layers.Dense(max(hidden // 2, 1), activation="relu", kernel_initializer=init,
                                              kernel_regularizer=reg)
            self.out = keras.layers.Dense(1, kernel_initializer=init, kernel_regularizer=reg)
            self.linear = keras.layers.Dense(1, kernel_initializer="zeros")
            self.task = tfrs.tasks.Ranking(loss=keras.losses.CategoricalCrossentropy(from_logits=True))

        def call(self, inputs):
            return tf.squeeze(self.out(self.hidden2(self.hidden1(inputs))) + self.linear(inputs), -1)

        def compute_loss(self, batch, training=False):
            xb, yb, mb = batch
            logits = tf.where(mb, self(xb), -1e9)
            target = yb / tf.maximum(tf.reduce_sum(yb, 1, keepdims=True), 1.0)
            return self.task(labels=target, predictions=logits) + tf.add_n(self.losses or [0.0])

    def fit(rows: np.ndarray, n_epochs: int, watch: np.ndarray | None):
        model = Scorer()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        data = (tf.data.Dataset.from_tensor_slices((x[rows], labels[rows].astype("float32"), mask[rows]))
                .shuffle(len(rows), seed=seed, reshuffle_each_iteration=True).batch(batch_size))
        history, best, best_weights, waited = [], -1.0, None, 0
        for _ in range(n_epochs):
            model.fit(data, epochs=1, verbose=0)
            if watch is None:
                continue
            value = ndcg_of_scores(_predict(model, x[watch]), labels[watch], mask[watch], n_relevant[watch], k)
            history.append(value)
            if value > best:
                best, best_weights, waited = value, model.get_weights(), 0
            else:
                waited += 1
                if waited >= patience:
                    break
        if best_weights is not None:
            model.set_weights(best_weights)
        return model, history

    def _predict(model, xs: np.ndarray) -> np.ndarray:
        return np.concatenate([model(xs[i:i + 512]).numpy() for i in range(0, len(xs), 512)])

    model, history = fit(useful, epochs, hold if n_hold else None)
    report = {"holdout_ndcg": float(max(history)), "epochs": float(int(np.argmax(history)) + 1)} if history else {}
    weights = [w.numpy() for w in (model.hidden1.kernel, model.hidden1.bias, model.hidden2.kernel,
                                   model.hidden2.bias, model.out.kernel, model.out.bias, model.linear.kernel,
                                   model.linear.bias)]
    return ListRanker(weights, mean, std, names), report
