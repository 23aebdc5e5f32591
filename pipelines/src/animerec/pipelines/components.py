"""What every pipeline task gets: the trainer image, the runtime environment (Keras 2 for TFRS,
bounded BLAS threads) and, for the training steps, GPU requests and placement from the settings."""

from __future__ import annotations

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


def on_gpu(task: PipelineTask, settings=None) -> PipelineTask:
    s = settings or SETTINGS
    task.set_cpu_limit(s.train_cpu).set_memory_limit(s.train_memory)
    if s.gpu_count > 0:
        task.set_accelerator_type(s.gpu_type).set_accelerator_limit(s.gpu_count)
    for label in s.gpu_node_selector:
        key, _, value = label.partition("=")
        kubernetes.add_node_selector(task, key.strip(), value.strip())
    for toleration in s.gpu_tolerations:
        key_value, _, effect = toleration.rpartition(":")
        if not key_value:  # "key" alone: tolerate every effect
            key_value, effect = effect, ""
        key, _, value = key_value.partition("=")
        kubernetes.add_toleration(task, key=key.strip(), operator="Equal" if value else "Exists",
                                  value=value.strip() or None, effect=effect.strip() or None)
    return task
