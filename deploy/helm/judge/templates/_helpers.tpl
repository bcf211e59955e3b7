{{- define "judge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "judge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "judge.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "judge.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "judge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "judge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "judge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "judge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "judge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "judge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "judge.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if eq $tag "latest" }}{{ fail "image.tag: latest is not a version; name one (or set image.digest)" }}{{ end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "judge.scheme" -}}
{{- if .Values.tls.secretName }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Checks the values: a wrong combination fails the install with the field to change. */}}
{{- define "judge.validate" -}}
{{- if and (eq .Values.storage.type "sqlite") (ne (int .Values.replicaCount) 1) }}
{{- fail "storage.type sqlite keeps the database on one replica's volume: set replicaCount: 1, or storage.type: postgres for more" }}
{{- end }}
{{- if and (eq .Values.storage.type "postgres") (not .Values.storage.postgres.urlSecret.name) }}
{{- fail "storage.postgres.urlSecret.name: the Secret holding the PostgreSQL URL is required with storage.type postgres" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled .Values.auth.protectMetrics (not .Values.serviceMonitor.tokenSecret.name) }}
{{- fail "serviceMonitor.tokenSecret.name: auth.protectMetrics needs a read token for Prometheus to scrape /metrics" }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount: at least 1" }}
{{- end }}
{{- end }}
