{{/*
Names. The full name is kept short enough for the longest suffix
(-setup-config) to stay within a Service name's 63 characters.
*/}}
{{- define "hookflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 45 | trimSuffix "-" }}
{{- end }}

{{- define "hookflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels. Called with (dict "ctx" $ "component" "serve"): the component is
serve, worker, setup or ops.
*/}}
{{- define "hookflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookflow.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "hookflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hookflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{/*
The pods that listen on the ops port (serve and worker, not setup's): what
the ops Service selects.
*/}}
{{- define "hookflow.opsSelectorLabels" -}}
{{ include "hookflow.selectorLabels" (dict "ctx" . "component" "") }}
hookflow/ops: "true"
{{- end }}

{{- define "hookflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* The configuration file, as mounted; its hash rolls the pods. */}}
{{- define "hookflow.configYAML" -}}
{{ toYaml .Values.config }}
{{- end }}

{{/*
Refuses secrets in values, naming the place and never the value. A setting
whose name says it holds a secret (or a URL that may carry one) belongs in
a Secret: secrets.existingSecret or secrets.env.
*/}}
{{- define "hookflow.secretNames" -}}
SECRET|TOKEN|PASSWORD|API_KEY|HEADERS|^(HOOKFLOW_)?FORWARD_URL$
{{- end }}

{{/* Set by the chart from their own values; `env` may not set them. */}}
{{- define "hookflow.chartNames" -}}
{{- list "HOOKFLOW_CONFIG" "HOOKFLOW_HTTP_ADDR" "HOOKFLOW_METRICS_ADDR" "TEMPORAL_ADDRESS" "TEMPORAL_NAMESPACE" "HOOKFLOW_TASK_QUEUE" "REDIS_URL" | toJson }}
{{- end }}

{{/* (dict "path" "temporal.apiKey" "ref" .Values.temporal.apiKey) */}}
{{- define "hookflow.checkRef" -}}
{{- if not (kindIs "map" .ref) }}
{{- fail (printf "%s: takes {existingSecret, key}, a reference to a Secret you created, never the secret itself" .path) }}
{{- end }}
{{- range $k, $_ := .ref }}
{{- if not (has $k (list "existingSecret" "key")) }}
{{- fail (printf "%s.%s: not a setting; %s takes {existingSecret, key} only, a reference to a Secret you created" $.path $k $.path) }}
{{- end }}
{{- end }}
{{- if and .ref.existingSecret (not .ref.key) }}
{{- fail (printf "%s.key: must name the key of Secret %s" .path .ref.existingSecret) }}
{{- end }}
{{- end }}

{{- define "hookflow.validate" -}}
{{- $secret := include "hookflow.secretNames" . }}
{{- $chart := include "hookflow.chartNames" . | fromJsonArray }}
{{- if not (kindIs "map" .Values.config) }}
{{- fail "config: must be a map, hookflow's YAML configuration file" }}
{{- end }}
{{- range $k, $_ := .Values.config }}
{{- if regexMatch $secret (upper $k) }}
{{- fail (printf "config.%s: a secret never goes in values; put it in a Secret and name it in secrets.existingSecret or secrets.env" $k) }}
{{- end }}
{{- end }}
{{- if contains "@" (toString (index .Values.config "redis_url" | default "")) }}
{{- fail "config.redis_url: credentials never go in values; use redis.url without them and redis.password, or redis.urlSecret" }}
{{- end }}
{{- range $k, $_ := .Values.env }}
{{- if regexMatch $secret $k }}
{{- fail (printf "env.%s: a secret never goes in values; put it in a Secret and name it in secrets.existingSecret or secrets.env" $k) }}
{{- end }}
{{- if has $k $chart }}
{{- fail (printf "env.%s: set by the chart from its own values (temporal, redis, ports)" $k) }}
{{- end }}
{{- end }}
{{- if contains "@" .Values.redis.url }}
{{- fail "redis.url: credentials never go in values; use redis.password (REDIS_PASSWORD), or the whole URL from redis.urlSecret" }}
{{- end }}
{{- include "hookflow.checkRef" (dict "path" "temporal.apiKey" "ref" .Values.temporal.apiKey) }}
{{- include "hookflow.checkRef" (dict "path" "redis.urlSecret" "ref" .Values.redis.urlSecret) }}
{{- include "hookflow.checkRef" (dict "path" "redis.password" "ref" .Values.redis.password) }}
{{- include "hookflow.checkRef" (dict "path" "redis.sentinelPassword" "ref" .Values.redis.sentinelPassword) }}
{{- include "hookflow.checkRef" (dict "path" "otel.headers" "ref" .Values.otel.headers) }}
{{- range $name, $ref := .Values.secrets.env }}
{{- include "hookflow.checkRef" (dict "path" (printf "secrets.env.%s" $name) "ref" $ref) }}
{{- if not $ref.existingSecret }}
{{- fail (printf "secrets.env.%s.existingSecret: must name a Secret" $name) }}
{{- end }}
{{- end }}
{{- if not (kindIs "string" .Values.secrets.existingSecret) }}
{{- fail "secrets.existingSecret: takes the name of a Secret you created" }}
{{- end }}
{{- end }}

{{/* (dict "name" "TEMPORAL_API_KEY" "ref" .Values.temporal.apiKey) */}}
{{- define "hookflow.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.existingSecret }}
      key: {{ .ref.key }}
{{- end }}

{{/*
The environment of every hookflow container: where the file is, the ops
listener on every interface (for the kubelet's probes and Prometheus),
Temporal, Redis, traces and the secrets.
*/}}
{{- define "hookflow.env" -}}
{{- include "hookflow.validate" . -}}
- name: HOOKFLOW_CONFIG
  value: /etc/hookflow/config/config.yaml
- name: HOOKFLOW_METRICS_ADDR
  value: {{ printf ":%v" .Values.ports.ops | quote }}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: HOOKFLOW_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- with .Values.temporal.tls }}
{{- if not (kindIs "invalid" .enabled) }}
- name: TEMPORAL_TLS
  value: {{ .enabled | quote }}
{{- end }}
{{- if .existingSecret }}
{{- if .cert }}
- name: TEMPORAL_TLS_CERT
  value: /etc/hookflow/temporal-tls/{{ .cert }}
{{- end }}
{{- if .key }}
- name: TEMPORAL_TLS_KEY
  value: /etc/hookflow/temporal-tls/{{ .key }}
{{- end }}
{{- if .ca }}
- name: TEMPORAL_TLS_CA
  value: /etc/hookflow/temporal-tls/{{ .ca }}
{{- end }}
{{- end }}
{{- if .serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .serverName | quote }}
{{- end }}
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
{{ include "hookflow.secretEnv" (dict "name" "TEMPORAL_API_KEY" "ref" .Values.temporal.apiKey) }}
{{- end }}
{{- if .Values.redis.urlSecret.existingSecret }}
{{ include "hookflow.secretEnv" (dict "name" "REDIS_URL" "ref" .Values.redis.urlSecret) }}
{{- else }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
{{- with .Values.redis.username }}
- name: REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.redis.password.existingSecret }}
{{ include "hookflow.secretEnv" (dict "name" "REDIS_PASSWORD" "ref" .Values.redis.password) }}
{{- end }}
{{- if .Values.redis.sentinelPassword.existingSecret }}
{{ include "hookflow.secretEnv" (dict "name" "REDIS_SENTINEL_PASSWORD" "ref" .Values.redis.sentinelPassword) }}
{{- end }}
{{- if .Values.redis.tls.existingSecret }}
- name: REDIS_TLS_CA
  value: /etc/hookflow/redis-tls/{{ .Values.redis.tls.ca }}
{{- end }}
{{- with .Values.otel }}
{{- if .endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
{{- with .protocol }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- with .sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with .samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- with .resourceAttributes }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ . | quote }}
{{- end }}
{{- if .headers.existingSecret }}
{{ include "hookflow.secretEnv" (dict "name" "OTEL_EXPORTER_OTLP_HEADERS" "ref" .headers) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $ref := .Values.secrets.env }}
{{ include "hookflow.secretEnv" (dict "name" $name "ref" $ref) }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{- define "hookflow.envFrom" -}}
{{- with .Values.secrets.existingSecret }}
envFrom:
  - secretRef:
      name: {{ . }}
{{- end }}
{{- end }}

{{/* Called with (dict "ctx" $ "configMap" NAME). */}}
{{- define "hookflow.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
{{- with .ctx.Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- with .ctx.Values.redis.tls.existingSecret }}
- name: redis-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- with .ctx.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "hookflow.volumeMounts" -}}
- name: config
  mountPath: /etc/hookflow/config
  readOnly: true
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/hookflow/temporal-tls
  readOnly: true
{{- end }}
{{- if .Values.redis.tls.existingSecret }}
- name: redis-tls
  mountPath: /etc/hookflow/redis-tls
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
What every hookflow pod shares: no account token (hookflow never calls the
Kubernetes API), no service links (they would add variables named after
Services, HOOKFLOW_PORT among them), non-root.
*/}}
{{- define "hookflow.podSpec" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Called with (dict "ctx" $ "values" .Values.serve). */}}
{{- define "hookflow.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The three probes, on the ops port. */}}
{{- define "hookflow.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: ops
  {{- toYaml .Values.probes.startup | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: ops
  {{- toYaml .Values.probes.readiness | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: ops
  {{- toYaml .Values.probes.liveness | nindent 2 }}
{{- end }}
