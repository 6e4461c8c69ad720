{{/* Names and labels. */}}
{{- define "lifeboat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lifeboat.fullname" -}}
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

{{/* A name derived from the full name, kept within 52 characters so that CronJob names
     leave room for the Job suffix Kubernetes appends. */}}
{{- define "lifeboat.componentName" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "lifeboat.fullname" $root | trunc (int (sub 51 (len $suffix)))) $suffix | trimSuffix "-" -}}
{{- end -}}

{{- define "lifeboat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lifeboat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lifeboat.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "lifeboat.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "lifeboat.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lifeboat.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lifeboat.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Which sources are configured: a source is in the config when it is backed up,
     restored or drilled. */}}
{{- define "lifeboat.vaultEnabled" -}}
{{- $v := .Values.vault -}}
{{- if or $v.backup.enabled $v.restore.enabled $v.drill.enabled $v.autoRestore.enabled }}true{{ end -}}
{{- end -}}

{{- define "lifeboat.workflowsEnabled" -}}
{{- $m := .Values.workflows.metadataDatabase -}}
{{- if or $m.backup.enabled $m.restore.enabled $m.drill.enabled }}true{{ end -}}
{{- end -}}

{{/* Paths inside the pods. The config file refers to secrets by these paths; the pod
     templates mount the Secrets there (lifeboat.volumes / lifeboat.volumeMounts). */}}
{{- define "lifeboat.configPath" -}}/etc/lifeboat/config/lifeboat.yaml{{- end -}}
{{- define "lifeboat.secretPath" -}}
{{- printf "/etc/lifeboat/secrets/%s/%s" (index . 0) (index . 1) -}}
{{- end -}}
{{- define "lifeboat.destinationPath" -}}
{{- printf "/var/lib/lifeboat/destinations/%s" . -}}
{{- end -}}
{{- define "lifeboat.historyDir" -}}/var/lib/lifeboat/history{{- end -}}

{{/* Convert a duration with one unit (90s, 30m, 3h, 8d) to seconds, for alert rules. */}}
{{- define "lifeboat.seconds" -}}
{{- $s := toString . -}}
{{- $n := regexFind "^[0-9]+" $s -}}
{{- $unit := trimPrefix $n $s -}}
{{- $mult := dict "s" 1 "m" 60 "h" 3600 "d" 86400 -}}
{{- if or (not $n) (not (hasKey $mult $unit)) -}}
{{- fail (printf "%q is not a duration like 90s, 30m, 3h or 8d" $s) -}}
{{- end -}}
{{- mul (atoi $n) (get $mult $unit) -}}
{{- end -}}

{{/* PVC name of a file destination. */}}
{{- define "lifeboat.destinationClaim" -}}
{{- $root := index . 0 -}}
{{- $d := index . 1 -}}
{{- $p := $d.persistence | default dict -}}
{{- default (include "lifeboat.componentName" (list $root (printf "dest-%s" $d.name))) $p.existingClaim -}}
{{- end -}}

{{- define "lifeboat.historyClaim" -}}
{{- default (include "lifeboat.componentName" (list . "history")) .Values.agent.persistence.existingClaim -}}
{{- end -}}

{{/* One NetworkPolicy egress rule: (list {to: peers} ports); no peers = any address on the ports. */}}
{{- define "lifeboat.egressRule" -}}
{{- $rule := index . 0 -}}
{{- $ports := index . 1 -}}
{{- if $rule.to -}}
- to:
    {{- toYaml $rule.to | nindent 4 }}
  ports:
{{- else -}}
- ports:
{{- end }}
    {{- range $ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end }}

{{/* "true" when the agent runs the drills itself (mode agent, agent.drillsIn agent);
     otherwise drills are CronJobs and the agent mounts none of their keys. */}}
{{- define "lifeboat.agentDrills" -}}
{{- if and (eq .Values.mode "agent") (eq (.Values.agent.drillsIn | default "cronjob") "agent") }}true{{ end -}}
{{- end -}}

{{/* The service account vault.autoRestore reads the unseal keys as. */}}
{{- define "lifeboat.autoRestoreServiceAccount" -}}
{{- $sa := .Values.vault.autoRestore.serviceAccount | default dict -}}
{{- if $sa.create | default false -}}
{{- $sa.name | default (include "lifeboat.componentName" (list . "auto-restore")) -}}
{{- else -}}
{{- .Values.vault.autoRestore.serviceAccountName -}}
{{- end -}}
{{- end -}}
