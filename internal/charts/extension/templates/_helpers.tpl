{{/*
berth.labels are the labels of every object of the release. Call it with
(dict "root" $ "name" "berth-operator" "component" "operator").
*/}}
{{- define "berth.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: berth
berth.dev/component: {{ .component }}
{{- end }}

{{/*
berth.selectorLabels select a component's pods; they never change after install.
Call it with (dict "root" $ "component" "operator").
*/}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
berth.dev/component: {{ .component }}
{{- end }}

{{/*
berth.binary is the berth executable berth's containers run: the host's when hostBinary is
set (the process kubelet ignores images), the image's otherwise.
*/}}
{{- define "berth.binary" -}}
{{- .Values.hostBinary | default "/berth" }}
{{- end }}

{{/*
berth.image is berth's own image: repository:tag, or repository@tag when the tag is a
digest (sha256:...).
*/}}
{{- define "berth.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- printf "%s%s%s" .Values.image.repository (ternary "@" ":" (hasPrefix "sha256:" $tag)) $tag }}
{{- end }}

{{/*
berth.clusterName names a cluster-scoped object after the release's namespace, so that
releases in two namespaces do not fight over it. Call it with (list $ "berth-operator").
*/}}
{{- define "berth.clusterName" -}}
{{- printf "%s-%s" (index . 1) (index . 0).Release.Namespace | trunc 253 }}
{{- end }}

{{/*
berth.nodeSelector is the pod spec's nodeSelector, when the settings give one.
*/}}
{{- define "berth.nodeSelector" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
berth.routerTLS is "true" when the router serves HTTPS: from cert and key given in the
settings or from an existing Secret.
*/}}
{{- define "berth.routerTLS" -}}
{{- if or .Values.router.tls.secretName .Values.router.tls.cert }}true{{ end }}
{{- end }}

{{/*
berth.routerPort is the router container's port: 8443 with TLS, 8080 without.
*/}}
{{- define "berth.routerPort" -}}
{{- if include "berth.routerTLS" . }}8443{{ else }}8080{{ end }}
{{- end }}

{{/*
berth.routerTLSSecret names the Secret the router's certificate and key come from.
*/}}
{{- define "berth.routerTLSSecret" -}}
{{- .Values.router.tls.secretName | default "berth-router-tls" }}
{{- end }}

{{/*
berth.validate fails the render on settings the chart cannot honour. The server checks
the same rules first, with friendlier messages; these guard a plain helm install.
*/}}
{{- define "berth.validate" -}}
{{- if not (or .Values.training .Values.inference) }}
{{- fail "set training=true or inference=true (enableTraining, enableInference): with neither the extension installs nothing" }}
{{- end }}
{{- if .Values.inference }}
{{- $tls := .Values.router.tls }}
{{- if and $tls.secretName (or $tls.cert $tls.key) }}
{{- fail "router.tls.secretName (sslSecret) and router.tls.cert/key (sslCertPemFile, sslKeyPemFile) exclude each other: give one" }}
{{- end }}
{{- if or (and $tls.cert (not $tls.key)) (and $tls.key (not $tls.cert)) }}
{{- fail "router.tls.cert and router.tls.key (sslCertPemFile, sslKeyPemFile) go together: give both" }}
{{- end }}
{{- if not (or $tls.secretName $tls.cert .Values.router.allowInsecure) }}
{{- fail "inference needs TLS material (router.tls.cert and key, or router.tls.secretName) or router.allowInsecure=true (allowInsecureConnections)" }}
{{- end }}
{{- if not (has .Values.router.serviceType (list "LoadBalancer" "NodePort" "ClusterIP")) }}
{{- fail (printf "router.serviceType %q is not LoadBalancer, NodePort or ClusterIP" .Values.router.serviceType) }}
{{- end }}
{{- if not (has .Values.router.internalLoadBalancer (list "" "azure" "aws" "gcp" "auto")) }}
{{- fail (printf "router.internalLoadBalancer %q is not azure, aws, gcp or auto" .Values.router.internalLoadBalancer) }}
{{- end }}
{{- if and .Values.router.internalLoadBalancer (ne .Values.router.serviceType "LoadBalancer") }}
{{- fail (printf "router.internalLoadBalancer needs router.serviceType LoadBalancer, not %s (privateEndpointILB and privateEndpointNodeport exclude each other)" .Values.router.serviceType) }}
{{- end }}
{{- if lt (int .Values.router.replicas) 1 }}
{{- fail "router.replicas must be at least 1" }}
{{- end }}
{{- end }}
{{- end }}
