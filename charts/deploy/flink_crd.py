"""A pydantic model of the Flink Kubernetes Operator's FlinkDeployment (flink.apache.org/v1beta1).

No maintained Python model of this CRD ships on PyPI; this one follows the operator's CRD (release 1.9) for the
fields a chart sets, and forbids any other, so a misspelt field fails the offline verification as it would fail
admission. Pod templates are checked as core/v1 Pods by the verifier's strict schemas where it extracts them.
Register with validate.crd_models: ("flink.apache.org/v1beta1", "FlinkDeployment"): FlinkDeployment.model_validate.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Resource(_Strict):
    cpu: float | None = None
    memory: str | None = None
    ephemeral_storage: str | None = Field(None, alias="ephemeralStorage")


class JobManagerSpec(_Strict):
    resource: Resource | None = None
    replicas: int | None = Field(None, ge=1)
    pod_template: dict[str, Any] | None = Field(None, alias="podTemplate")


class TaskManagerSpec(_Strict):
    resource: Resource | None = None
    replicas: int | None = Field(None, ge=1)
    pod_template: dict[str, Any] | None = Field(None, alias="podTemplate")


class JobSpec(_Strict):
    jar_uri: str | None = Field(None, alias="jarURI")
    parallelism: int | None = Field(None, ge=1)
    entry_class: str | None = Field(None, alias="entryClass")
    args: list[str] | None = None
    state: Literal["running", "suspended"] | None = None
    upgrade_mode: Literal["stateless", "savepoint", "last-state"] | None = Field(None, alias="upgradeMode")
    allow_non_restored_state: bool | None = Field(None, alias="allowNonRestoredState")
    savepoint_trigger_nonce: int | None = Field(None, alias="savepointTriggerNonce")
    initial_savepoint_path: str | None = Field(None, alias="initialSavepointPath")


class IngressSpec(_Strict):
    template: str | None = None
    class_name: str | None = Field(None, alias="className")
    annotations: dict[str, str] | None = None
    labels: dict[str, str] | None = None


class FlinkDeploymentSpec(_Strict):
    image: str | None = None
    image_pull_policy: str | None = Field(None, alias="imagePullPolicy")
    service_account: str | None = Field(None, alias="serviceAccount")
    flink_version: Literal["v1_13", "v1_14", "v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20",
                           "v2_0"] | None = Field(None, alias="flinkVersion")
    flink_configuration: dict[str, str] | None = Field(None, alias="flinkConfiguration")
    log_configuration: dict[str, str] | None = Field(None, alias="logConfiguration")
    mode: Literal["native", "standalone"] | None = None
    pod_template: dict[str, Any] | None = Field(None, alias="podTemplate")
    job_manager: JobManagerSpec | None = Field(None, alias="jobManager")
    task_manager: TaskManagerSpec | None = Field(None, alias="taskManager")
    job: JobSpec | None = None
    ingress: IngressSpec | None = None
    restart_nonce: int | None = Field(None, alias="restartNonce")


class ObjectMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class FlinkDeployment(_Strict):
    api_version: Literal["flink.apache.org/v1beta1"] = Field(alias="apiVersion")
    kind: Literal["FlinkDeployment"]
    metadata: ObjectMeta
    spec: FlinkDeploymentSpec
