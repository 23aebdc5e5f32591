"""Import TensorFlow the way every training step needs it: Keras 2 (tf-keras, which TFRS needs)
and a bounded thread pool (the steps share small machines)."""

from __future__ import annotations

import os


def tensorflow(threads: int = 2, seed: int | None = None):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process: keep what it has
        pass
    if seed is not None:
        tf.keras.utils.set_random_seed(seed)
    return tf
