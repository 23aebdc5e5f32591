"""What every pipeline task gets: the trainer image, the runtime environment (Keras 2 for TFRS,
bounded BLAS threads) and, for the training steps, GPU requests and placement from the settings."""

from __future__ import annotations

import os

from kfp import kubernetes
from kfp.dsl import PipelineTask

from .settings import load as load_settings
from .steps import runtime_env

SETTINGS = load_settings()
IMAGE = SETTINGS.image


def configure(task: PipelineTask, display_name: str) -> PipelineTask:
    task.set_display_name(display_name)
    # Each run reads the live processed tables: a cached step would train on yesterday's data.
    task.set_caching_options(False)
    for name, value in runtime_env().items():
        task.set_env_variable(name, value)
    return task


# Core settings the compiling process forwards to the tasks that talk to PostgreSQL or Redis.
FORWARDED = ("ANIMEREC_REDIS_PREFIX", "ANIMEREC_LOG_LEVEL", "ANIMEREC_LOG_FORMAT", "ANIMEREC_METRICS_PUSH_LABELS",
             "ANIMEREC_PIPELINES_PUSHGATEWAY_URL")


def with_secrets(task: PipelineTask, *, redis: bool = False, settings=None) -> PipelineTask:
    """ANIMEREC_POSTGRES_URL (and ANIMEREC_REDIS_URL) from Kubernetes Secrets: no password in a run parameter."""
    s = settings or SETTINGS
    kubernetes.use_secret_as_env(task, secret_name=s.postgres_secret,
                                 secret_key_to_env={s.postgres_secret_key: "ANIMEREC_POSTGRES_URL"})
    if redis:
        kubernetes.use_secret_as_env(task, secret_name=s.redis_secret,
                                     secret_key_to_env={s.redis_secret_key: "ANIMEREC_REDIS_URL"})
    for name in FORWARDED:
        if os.environ.get(name):
            task.set_env_variable(name, os.environ[name])
    return task


def toleration(spec: str) -> dict:
    """`key[=value]:effect[:seconds]` -> add_toleration's arguments (no `=`: Exists; `key=:effect`: Equal '')."""
    parts = spec.split(":")
    seconds = int(parts.pop()) if len(parts) == 3 else None
    key_value, effect = (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")
    key, has_value, value = key_value.partition("=")
    return {"key": key.strip(), "operator": "Equal" if has_value else "Exists",
            "value": value.strip() if has_value else None, "effect": effect.strip() or None,
            "toleration_seconds": seconds}


def on_gpu(task: PipelineTask, settings=None) -> PipelineTask:
    s = settings or SETTINGS
    task.set_cpu_limit(s.train_cpu).set_memory_limit(s.train_memory)
    if s.gpu_count > 0:
        task.set_accelerator_type(s.gpu_type).set_accelerator_limit(s.gpu_count)
    for label in s.gpu_node_selector:
        key, _, value = label.partition("=")
        kubernetes.add_node_selector(task, key.strip(), value.strip())
    for spec in s.gpu_tolerations:
        kubernetes.add_toleration(task, **toleration(spec))
    return task
