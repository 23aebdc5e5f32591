{{/* Names */}}
{{- define "animerec.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "animerec.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>; call with (list $ "component") */}}
{{- define "animerec.component" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "animerec.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels; call with (list $ "component") */}}
{{- define "animerec.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: animerec
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
{{ include "animerec.selectorLabels" . }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "animerec.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "animerec.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Image reference; call with (list $ .Values.<svc>.image) */}}
{{- define "animerec.image" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $tag := $image.tag | default $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- $ref := printf "%s:%s" $image.repository $tag -}}
{{- if $root.Values.image.registry -}}
{{- $ref = printf "%s/%s" (trimSuffix "/" $root.Values.image.registry) $ref -}}
{{- end -}}
{{- with $image.digest -}}
{{- $ref = printf "%s@%s" $ref . -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* Account of the hook Jobs: a hook itself (created just before them), since Helm creates the release's own
ServiceAccount only after the pre-install hooks */}}
{{- define "animerec.hookServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- include "animerec.component" (list . "hooks") -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image training runs in: the GPU build when training asks for GPUs */}}
{{- define "animerec.trainingImage" -}}
{{- $i := .Values.pipelines.image -}}
{{- if gt (int .Values.pipelines.gpu.count) 0 -}}
{{- include "animerec.image" (list . (dict "repository" $i.gpuRepository "tag" $i.gpuTag "digest" $i.gpuDigest)) -}}
{{- else -}}
{{- include "animerec.image" (list . $i) -}}
{{- end -}}
{{- end -}}

{{- define "animerec.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "animerec.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Connection endpoints and the Secrets that hold the URLs with passwords */}}
{{/* Kafka security (kafka.security); the bundled broker speaks PLAINTEXT only */}}
{{- define "animerec.kafkaSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.security.protocol -}}true{{- end -}}
{{- end -}}

{{- define "animerec.kafkaCa" -}}
{{- if and (hasSuffix "SSL" .Values.kafka.security.protocol) .Values.kafka.security.caSecret -}}true{{- end -}}
{{- end -}}

{{- define "animerec.kafkaCaFile" -}}
/etc/animerec/kafka-ca/{{ .Values.kafka.security.caKey }}
{{- end -}}

{{/* Topic replication for the topics Job: key=replicas:min_insync per topic that overrides the defaults */}}
{{- define "animerec.topicOverrides" -}}
{{- $out := list -}}
{{- range $key, $t := .Values.topics -}}
{{- if or $t.replicationFactor $t.minInsyncReplicas -}}
{{- $out = append $out (printf "%s=%d:%d" (snakecase $key) (int ($t.replicationFactor | default $.Values.kafka.replication.factor)) (int ($t.minInsyncReplicas | default $.Values.kafka.replication.minInsyncReplicas))) -}}
{{- end -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{- define "animerec.kafkaBootstrap" -}}
{{- if and .Values.kafka.deploy (ne .Values.kafka.security.protocol "PLAINTEXT") -}}
{{- fail "kafka.security.protocol must be PLAINTEXT with the bundled Kafka (kafka.deploy)" -}}
{{- end -}}
{{- if and (include "animerec.kafkaSasl" .) (not .Values.kafka.security.existingSecret) -}}
{{- fail (printf "kafka.security.existingSecret (SASL username and password) is required with %s" .Values.kafka.security.protocol) -}}
{{- end -}}
{{- if .Values.kafka.deploy -}}
{{- /* Fully qualified: KEDA's operator connects from its own namespace, and so do advertised listeners. */}}
{{- printf "%s.%s.svc:9092" (include "animerec.component" (list . "kafka")) .Release.Namespace -}}
{{- else -}}
{{- required "kafka.bootstrap is required when kafka.deploy is false" .Values.kafka.bootstrap -}}
{{- end -}}
{{- end -}}

{{- define "animerec.postgresSecret" -}}
{{- if .Values.postgresql.existingSecret -}}
{{- .Values.postgresql.existingSecret -}}
{{- else if .Values.postgresql.deploy -}}
{{- include "animerec.component" (list . "postgresql") -}}
{{- else -}}
{{- required "postgresql.existingSecret is required when postgresql.deploy is false" .Values.postgresql.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "animerec.redisSecret" -}}
{{- if .Values.redis.existingSecret -}}
{{- .Values.redis.existingSecret -}}
{{- else if .Values.redis.deploy -}}
{{- include "animerec.component" (list . "redis") -}}
{{- else -}}
{{- required "redis.existingSecret is required when redis.deploy is false" .Values.redis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "animerec.topic" -}}
{{- $root := index . 0 -}}
{{- printf "%s%s" $root.Values.config.topicPrefix (index $root.Values.topics (index . 1)).name -}}
{{- end -}}

{{/* Environment every animerec container gets: the ConfigMap plus the two secret URLs */}}
{{- define "animerec.env" -}}
- name: ANIMEREC_POSTGRES_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "animerec.postgresSecret" . }}
      key: {{ .Values.postgresql.urlKey }}
- name: ANIMEREC_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "animerec.redisSecret" . }}
      key: {{ .Values.redis.urlKey }}
{{- if include "animerec.kafkaSasl" . }}
- name: ANIMEREC_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.security.existingSecret }}
      key: {{ .Values.kafka.security.usernameKey }}
- name: ANIMEREC_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.security.existingSecret }}
      key: {{ .Values.kafka.security.passwordKey }}
{{- end }}
{{- end -}}

{{- define "animerec.envFrom" -}}
- configMapRef:
    name: {{ include "animerec.component" (list . "config") }}
{{- end -}}

{{/* Service-specific settings: a name->value map rendered as env entries; call with the map */}}
{{- define "animerec.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Hardened pod and container security contexts */}}
{{- define "animerec.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "animerec.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The read-only root filesystem needs a writable /tmp (also the state dir) */}}
{{- define "animerec.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}

{{- define "animerec.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Volumes and mounts of every animerec container: /tmp, and the Kafka CA bundle when set */}}
{{- define "animerec.appVolumes" -}}
{{ include "animerec.tmpVolume" . }}
{{- if include "animerec.kafkaCa" . }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.security.caSecret }}
    items:
      - key: {{ .Values.kafka.security.caKey }}
        path: {{ .Values.kafka.security.caKey }}
{{- end }}
{{- end -}}

{{- define "animerec.appMounts" -}}
{{ include "animerec.tmpMount" . }}
{{- if include "animerec.kafkaCa" . }}
- name: kafka-ca
  mountPath: /etc/animerec/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "animerec.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod annotations: the config checksum rolls the pods when settings change */}}
{{- define "animerec.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Metrics port of non-HTTP services */}}
{{- define "animerec.metricsPort" -}}
- name: metrics
  containerPort: {{ .Values.config.metricsPort }}
  protocol: TCP
{{- end -}}

{{/* Probes on the metrics endpoint of a worker: the process is alive while it serves /metrics */}}
{{- define "animerec.metricsProbes" -}}
startupProbe:
  httpGet: {path: /metrics, port: metrics}
  periodSeconds: 5
  failureThreshold: 24
livenessProbe:
  httpGet: {path: /metrics, port: metrics}
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /metrics, port: metrics}
  periodSeconds: 10
  timeoutSeconds: 5
{{- end -}}

{{/* Shared batch-pod spec (CronJobs and hook Jobs); call with (dict "root" $ "name" "x" "image" img "args" list "resources" r "nodeSelector" ns "tolerations" t "env" map) */}}
{{- define "animerec.batchPod" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "animerec.selectorLabels" (list $root .component) | nindent 4 }}
  annotations:
    {{- include "animerec.podAnnotations" $root | nindent 4 }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ .serviceAccount | default (include "animerec.serviceAccountName" $root) }}
  automountServiceAccountToken: {{ .automountToken | default false }}
  securityContext:
    {{- include "animerec.podSecurityContext" $root | nindent 4 }}
  {{- with (include "animerec.imagePullSecrets" $root | trim) }}{{ . | nindent 2 }}{{- end }}
  {{- with .nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ .imageRef | default (include "animerec.image" (list $root .image)) }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      {{- with .command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      args:
        {{- toYaml .args | nindent 8 }}
      {{- if not .inline }}
      envFrom:
        {{- include "animerec.envFrom" $root | nindent 8 }}
      {{- end }}
      env:
        {{- include "animerec.env" $root | nindent 8 }}
        {{- with (include "animerec.extraEnv" .env | trim) }}{{ . | nindent 8 }}{{- end }}
      securityContext:
        {{- include "animerec.securityContext" $root | nindent 8 }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      volumeMounts:
        {{- include "animerec.appMounts" $root | nindent 8 }}
        {{- with .extraMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    {{- include "animerec.appVolumes" $root | nindent 4 }}
    {{- with .extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* Crawler settings; the variable names follow animerec.crawler's settings class */}}
{{- define "animerec.crawlerEnv" -}}
- name: ANIMEREC_CRAWLER_GROUP
  value: {{ .Values.crawler.consumerGroup | quote }}
{{- if and .Values.malmirror.enabled .Values.malmirror.useForCrawler }}
{{- $mirror := printf "http://%s:%v" (include "animerec.component" (list . "malmirror")) .Values.malmirror.port }}
- name: ANIMEREC_CRAWLER_MAL_BASE_URL
  value: {{ $mirror | quote }}
- name: ANIMEREC_CRAWLER_JIKAN_BASE_URL
  value: {{ printf "%s/v4" $mirror | quote }}
{{- end }}
{{- include "animerec.extraEnv" .Values.crawler.env }}
{{- end -}}

{{/* Core settings (ANIMEREC_*): the ConfigMap's data, and inline env of hook Jobs (which run before it exists) */}}
{{- define "animerec.coreConfig" -}}
ANIMEREC_KAFKA_BOOTSTRAP: {{ include "animerec.kafkaBootstrap" . | quote }}
ANIMEREC_KAFKA_SESSION_TIMEOUT_MS: {{ .Values.config.kafkaSessionTimeoutMs | quote }}
ANIMEREC_KAFKA_COMPRESSION: {{ .Values.config.kafkaCompression | quote }}
ANIMEREC_KAFKA_SECURITY_PROTOCOL: {{ .Values.kafka.security.protocol | quote }}
{{- if include "animerec.kafkaSasl" . }}
ANIMEREC_KAFKA_SASL_MECHANISM: {{ .Values.kafka.security.saslMechanism | quote }}
{{- end }}
{{- if include "animerec.kafkaCa" . }}
ANIMEREC_KAFKA_SSL_CAFILE: {{ include "animerec.kafkaCaFile" . | quote }}
{{- end }}
{{- if .Values.kafka.deploy }}
# One broker: one replica of everything.
ANIMEREC_KAFKA_REPLICATION_FACTOR: "1"
ANIMEREC_KAFKA_MIN_INSYNC_REPLICAS: "1"
{{- else }}
ANIMEREC_KAFKA_REPLICATION_FACTOR: {{ .Values.kafka.replication.factor | quote }}
ANIMEREC_KAFKA_MIN_INSYNC_REPLICAS: {{ .Values.kafka.replication.minInsyncReplicas | quote }}
{{- with include "animerec.topicOverrides" . }}
ANIMEREC_KAFKA_TOPIC_OVERRIDES: {{ . | quote }}
{{- end }}
{{- end }}
ANIMEREC_TOPIC_PREFIX: {{ .Values.config.topicPrefix | quote }}
ANIMEREC_REDIS_PREFIX: {{ .Values.config.redisPrefix | quote }}
ANIMEREC_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
ANIMEREC_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
ANIMEREC_METRICS_PORT: {{ .Values.config.metricsPort | quote }}
# Pushed run metrics carry the install's identity, like the Argo controller's metrics do.
ANIMEREC_METRICS_PUSH_LABELS: {{ printf "release_namespace=%s,release=%s" .Release.Namespace .Release.Name | quote }}
ANIMEREC_SCHEMAS_DIR: "/app/schemas"
# The root filesystem is read-only: state and caches go to the /tmp emptyDir.
ANIMEREC_STATE_DIR: "/tmp/animerec"
HOME: "/tmp"
{{- range $name, $value := .Values.config.extraEnv }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Labels of the metrics the Argo controller emits for our workflows: its scrape labels name its own namespace */}}
{{- define "animerec.argoMetricLabels" -}}
- key: release_namespace
  value: {{ .Release.Namespace | quote }}
- key: release
  value: {{ .Release.Name | quote }}
{{- end -}}

{{/* Non-empty when the ETL runs as an Argo CronWorkflow: wanted and served by the cluster */}}
{{- define "animerec.etlOnArgo" -}}
{{- if and .Values.etl.argo.enabled (.Capabilities.APIVersions.Has "argoproj.io/v1alpha1/CronWorkflow") -}}
true
{{- end -}}
{{- end -}}

{{/* Non-empty when the pipelines are scheduled: in-pod runs, or Kubeflow with an endpoint */}}
{{- define "animerec.pipelinesScheduled" -}}
{{- if and .Values.pipelines.enabled (or (eq .Values.pipelines.mode "local") .Values.pipelines.kfpEndpoint) -}}
true
{{- end -}}
{{- end -}}

{{/* ETL settings: results under the writable /tmp, run metrics to the Pushgateway */}}
{{- define "animerec.etlEnvMap" -}}
{{- toYaml (mergeOverwrite (dict "ANIMEREC_ETL_RESULTS_DIR" "/tmp/animerec/etl" "ANIMEREC_ETL_PUSHGATEWAY_URL" .Values.monitoring.pushgateway) (deepCopy .Values.etl.env)) }}
{{- end -}}

{{- define "animerec.etlEnv" -}}
{{- include "animerec.extraEnv" (include "animerec.etlEnvMap" . | fromYaml) | trim }}
{{- end -}}
