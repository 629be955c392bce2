{{/*
berth-agent.labels are the labels of every object of the chart.
*/}}
{{- define "berth-agent.labels" -}}
app.kubernetes.io/name: berth-agent
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: berth
berth.dev/component: agent
{{- end }}

{{/*
berth-agent.selectorLabels select the agent's pods; they never change after install.
*/}}
{{- define "berth-agent.selectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
berth.dev/component: agent
{{- end }}

{{/*
berth-agent.binary is the berth executable the container runs.
*/}}
{{- define "berth-agent.binary" -}}
{{- .Values.hostBinary | default "/berth" }}
{{- end }}

{{/*
berth-agent.image is berth's image: repository:tag, or repository@tag when the tag is a
digest (sha256:...).
*/}}
{{- define "berth-agent.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- printf "%s%s%s" .Values.image.repository (ternary "@" ":" (hasPrefix "sha256:" $tag)) $tag }}
{{- end }}
