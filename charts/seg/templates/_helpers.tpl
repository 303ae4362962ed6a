{{/*
The chart's name, at most 63 characters.
*/}}
{{- define "seg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: the release name, or <release>-<chart> when the release name
does not contain the chart name.
*/}}
{{- define "seg.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the operator's Deployment, ClusterRole and bindings: <fullname>-operator.
*/}}
{{- define "seg.operatorName" -}}
{{- printf "%s-operator" (include "seg.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seg.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "seg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "seg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "seg.labels" -}}
helm.sh/chart: {{ include "seg.chart" . }}
{{ include "seg.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: seg
{{- end }}

{{/*
The operator's ServiceAccount.
*/}}
{{- define "seg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "seg.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference: repository@digest, or repository:tag (default: the chart's appVersion).
*/}}
{{- define "seg.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}
