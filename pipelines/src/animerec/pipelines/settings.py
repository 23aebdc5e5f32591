"""Settings of the recommendation pipelines (ANIMEREC_PIPELINES_*), read once.

The training knobs travel into the pipelines as one `params` dict, so a compiled pipeline carries
the values it was compiled with and a run can override any of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from animerec.common import config
from animerec.common.config import setting

BASELINES = ("popularity", "item_knn", "ease", "rp3beta", "als")  # baselines.NAMES, tuned (tuning.py)


@dataclass(frozen=True)
class PipelineSettings:
    env_prefix = "ANIMEREC_PIPELINES_"

    # data and split
    seed: int = setting(42, help="Seed of every random choice (split, sampling, initialisation)")
    test_fraction: float = setting(0.2, minimum=0.01, maximum=0.9,
                                   help="Share of each user's interactions held out for evaluation")
    val_fraction: float = setting(0.2, minimum=0.01, maximum=0.9,
                                  help="Share of each user's training interactions held out to train the rankers")
    positive_min_score: int = setting(6, minimum=1, maximum=10,
                                      help="A scored interaction counts as positive from this score up")
    # retrieval
    embedding_dim: int = setting(32, minimum=2, maximum=1024, help="Two-tower embedding size")
    history_length: int = setting(50, minimum=1, maximum=1000,
                                  help="Items of a user's history fed to the query tower")
    epochs: int = setting(12, minimum=1, maximum=1000,
                          help="Most retrieval training epochs (the user-anime towers stop early on validation)")
    batch_size: int = setting(512, minimum=8, maximum=65536, help="Retrieval batch size (in-batch negatives)")
    learning_rate: float = setting(0.01, minimum=0.0, help="Retrieval learning rate (Adam)")
    temperature: float = setting(1.0, minimum=0.001, help="Softmax temperature on L2-normalised towers")
    l2_normalize: bool = setting(False, help="Cosine (true) or raw dot product (false) between the towers")
    user_id_embedding: bool = setting(False, help="Give each user an id embedding on top of their history "
                                      "(off: users are embedded by their list alone, which generalises better)")
    candidates: int = setting(300, minimum=10, maximum=5000, help="Candidates retrieved per user for ranking")
    popular_candidates: int = setting(100, minimum=0, maximum=5000,
                                      help="Most popular unseen anime added to each user's candidates")
    # the user-anime model: multi-source candidates + listwise ranker (userrank.py)
    ranker_candidates: int = setting(300, minimum=10, maximum=5000,
                                     help="Candidates per user (union of every source's best) the ranker orders")
    ranker_hidden: int = setting(64, minimum=1, maximum=4096, help="Hidden units of the user-anime ranker's MLP")
    ranker_epochs: int = setting(12, minimum=1, maximum=1000,
                                 help="Most epochs of the user-anime ranker (early-stopped on held-out users)")
    ranker_batch_size: int = setting(64, minimum=1, maximum=65536, help="Users' lists per ranker batch")
    ranker_learning_rate: float = setting(0.003, minimum=0.0, help="User-anime ranker learning rate (Adam)")
    ranker_l2: float = setting(0.0, minimum=0.0, help="L2 penalty on the user-anime ranker's MLP weights")
    ranker_synopsis: bool = setting(True, help="Synopsis embeddings (all-MiniLM-L6-v2, cached) as a ranker feature")
    retrieval_l2: float = setting(0.0001, minimum=0.0, help="Weight decay on the two-tower embedding rows a batch uses")
    retrieval_patience: int = setting(2, minimum=1, maximum=100,
                                      help="Two-tower epochs without a better validation NDCG before it stops")
    # baselines
    tune_trials: int = setting(8, minimum=1, maximum=1000,
                               help="Trials of each baseline's hyper-parameter search on the validation split")
    # anime-anime
    similar_candidates: int = setting(300, minimum=10, maximum=5000,
                                      help="Candidates per anime that the similar-anime blend scores")
    similar_depth: int = setting(100, minimum=1, maximum=5000,
                                 help="Each source's best anime per anchor that enter the similar-anime candidates")
    similar_synopsis: bool = setting(True, help="Synopsis embeddings (all-MiniLM-L6-v2, cached) in franchise "
                                     "detection and the similar-anime blend")
    # output and promotion
    k: int = setting(20, minimum=1, maximum=1000, help="Cut-off of the evaluation metrics")
    top_n: int = setting(300, minimum=1, maximum=1000, help="Length of the published lists")
    excluded_types: list[str] = setting([], help="Anime types never recommended (comma separated, e.g. Music)")
    excluded_genres: list[str] = setting([], help="Genres never recommended (comma separated, e.g. Hentai)")
    promote_margin: float = setting(0.01, minimum=0.0, maximum=1.0,
                                    help="A learned model is promoted only if its validation figure beats the best "
                                         "tuned baseline's by this relative margin (and its test figure is not lower)")
    promote_metric: str = setting("ndcg", choices=("ndcg", "recall", "map"),
                                  help="Metric (at k) compared for promotion")
    keep_runs: int = setting(5, minimum=1, maximum=1000, help="Runs of each pipeline kept in PostgreSQL")
    # execution
    tf_threads: int = setting(2, minimum=1, maximum=256, help="TensorFlow intra-op threads (inter-op: 1)")
    image: str = setting("animerec/pipelines:0.1.0", help="Container image of every pipeline component")
    gpu_type: str = setting("nvidia.com/gpu", help="Accelerator resource the training steps request")
    gpu_count: int = setting(1, minimum=0, maximum=16, help="Accelerators per training step (0: CPU only)")
    train_cpu: str = setting("4", help="CPU limit of the training steps")
    train_memory: str = setting("16G", help="Memory limit of the training steps")
    gpu_node_selector: list[str] = setting(["nvidia.com/gpu.present=true"],
                                           help="key=value labels the training nodes must have")
    gpu_tolerations: list[str] = setting(["nvidia.com/gpu:NoSchedule"],
                                         help="key[=value]:effect[:seconds] taints the training steps tolerate "
                                              "(key=:effect: an empty value; no '=': any value)")
    # Kubeflow tasks read the connection URLs from these Secrets (in the namespace the runs execute in), never
    # from run parameters, which KFP keeps in its metadata store.
    postgres_secret: str = setting("animerec-postgres", help="Secret holding the PostgreSQL URL of cluster runs")
    postgres_secret_key: str = setting("url", help="Key of the PostgreSQL URL in postgres_secret")
    redis_secret: str = setting("animerec-redis", help="Secret holding the Redis URL the publish step writes to")
    redis_secret_key: str = setting("url", help="Key of the Redis URL in redis_secret")
    pushgateway_url: str = setting("", help="host:port of a Prometheus Pushgateway the publish step reports to")

    def params(self) -> dict[str, Any]:
        """The training knobs as the plain dict the pipelines take."""
        keep = {f.name for f in dataclasses.fields(self)} - EXECUTION_ONLY
        return {name: getattr(self, name) for name in sorted(keep)}


EXECUTION_ONLY = {"image", "gpu_type", "gpu_count", "train_cpu", "train_memory", "gpu_node_selector",
                  "gpu_tolerations", "postgres_secret", "postgres_secret_key", "redis_secret", "redis_secret_key",
                  "pushgateway_url"}


def load(environ=None, **overrides: Any) -> PipelineSettings:
    return config.load(PipelineSettings, environ, **overrides)


def from_params(params: dict[str, Any] | None) -> PipelineSettings:
    """Settings from the environment, overridden by a pipeline's `params` dict (unknown keys fail)."""
    params = dict(params or {})
    known = {f.name for f in dataclasses.fields(PipelineSettings)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise config.ConfigError(f"unknown pipeline params: {', '.join(unknown)}")
    hints = {f.name: f.type for f in dataclasses.fields(PipelineSettings)}
    for name, value in params.items():
        # KFP hands numbers back as floats through protobuf Structs.
        if hints[name] in ("int", int) and isinstance(value, float) and value.is_integer():
            params[name] = int(value)
    return load(**params)
