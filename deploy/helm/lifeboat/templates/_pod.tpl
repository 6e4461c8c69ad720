{{/*
Pod templates shared by the CronJobs, the restore Jobs and the agent. A "scope" says what
the pod does and so which Secrets it gets: backup-<kind>, restore-<kind>, drill-<kind>
(kind vault, workflows or platform-config) or agent. Each pod mounts only the credentials of its own source
and destinations; the age identity only where restores and drills run; the signing key
only where backups run.
*/}}

{{/* The destinations a scope uses: its source's list, or all. */}}
{{- define "lifeboat.scopeDestinations" -}}
{{- $root := index . 0 -}}
{{- $scope := index . 1 -}}
{{- $only := list -}}
{{- if hasSuffix "-vault" $scope }}{{ $only = $root.Values.vault.backup.destinations }}{{ end -}}
{{- if hasSuffix "-workflows" $scope }}{{ $only = $root.Values.workflows.metadataDatabase.backup.destinations }}{{ end -}}
{{- if hasSuffix "-platform-config" $scope }}{{ $only = $root.Values.platformConfig.backup.destinations }}{{ end -}}
{{- $out := list -}}
{{- range $root.Values.destinations -}}
{{- if or (not $only) (has .name $only) }}{{ $out = append $out . }}{{ end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Secret volumes of a scope: a list of {name, secret, keys}. */}}
{{- define "lifeboat.secretMounts" -}}
{{- $root := index . 0 -}}
{{- $scope := index . 1 -}}
{{- $v := $root.Values.vault -}}
{{- $m := $root.Values.workflows.metadataDatabase -}}
{{- $agent := eq $scope "agent" -}}
{{- $agentDrills := and $agent (include "lifeboat.agentDrills" $root) -}}
{{- $out := list -}}
{{- if or (hasSuffix "-vault" $scope) (and $agent (include "lifeboat.vaultEnabled" $root)) -}}
{{- $t := $v.tls.secretRef -}}
{{- if $t.name -}}
{{- $keys := list -}}
{{- range (list $t.caKey $t.certKey $t.keyKey) }}{{ if . }}{{ $keys = append $keys . }}{{ end }}{{ end -}}
{{- $out = append $out (dict "name" "vault-tls" "secret" $t.name "keys" $keys) -}}
{{- end -}}
{{- if eq $v.auth.method "approle" -}}
{{- $r := $v.auth.approle.secretRef -}}
{{- $keys := list $r.roleIDKey -}}
{{- with $r.secretIDKey }}{{ $keys = append $keys . }}{{ end -}}
{{- $out = append $out (dict "name" "vault-auth" "secret" $r.name "keys" $keys) -}}
{{- else if eq $v.auth.method "token" -}}
{{- $out = append $out (dict "name" "vault-auth" "secret" $v.auth.token.secretRef.name "keys" (list $v.auth.token.secretRef.key)) -}}
{{- end -}}
{{- if eq $scope "restore-vault" -}}
{{- with $v.restore.tokenSecretRef }}{{ if .name }}{{ $out = append $out (dict "name" "vault-restore-token" "secret" .name "keys" (list .key)) }}{{ end }}{{ end -}}
{{- with $v.restore.unsealKeysSecretRef }}{{ if .name }}{{ $out = append $out (dict "name" "vault-restore-unseal-keys" "secret" .name "keys" (list .key)) }}{{ end }}{{ end -}}
{{- end -}}
{{- if and $v.drill.enabled (or (eq $scope "drill-vault") $agentDrills) -}}
{{- $seal := $v.drill.seal | default dict -}}
{{- if $seal.type -}}
{{- range $name, $ref := ($seal.secretRefs | default dict) }}{{ $out = append $out (dict "name" (include "lifeboat.sealVolume" $name) "secret" $ref.name "keys" (list ($ref.key | default $name))) }}{{ end -}}
{{- else -}}
{{- with $v.drill.unsealKeysSecretRef }}{{ $out = append $out (dict "name" "vault-drill-unseal-keys" "secret" .name "keys" (list .key)) }}{{ end -}}
{{- end -}}
{{- with $v.drill.tokenSecretRef }}{{ if .name }}{{ $out = append $out (dict "name" "vault-drill-token" "secret" .name "keys" (list .key)) }}{{ end }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if or (hasSuffix "-workflows" $scope) (and $agent (include "lifeboat.workflowsEnabled" $root)) -}}
{{- if $m.dsnSecretRef.name -}}
{{- $out = append $out (dict "name" "pg-auth" "secret" $m.dsnSecretRef.name "keys" (list $m.dsnSecretRef.key)) -}}
{{- else if $m.passwordSecretRef.name -}}
{{- $out = append $out (dict "name" "pg-auth" "secret" $m.passwordSecretRef.name "keys" (list $m.passwordSecretRef.key)) -}}
{{- end -}}
{{- if and $m.caSecretRef.name (not $m.dsnSecretRef.name) -}}
{{- $out = append $out (dict "name" "pg-tls" "secret" $m.caSecretRef.name "keys" (list $m.caSecretRef.key)) -}}
{{- end -}}
{{- with $m.restore.targetPasswordSecretRef -}}
{{- if and .name (eq $scope "restore-workflows") }}{{ $out = append $out (dict "name" "pg-restore-password" "secret" .name "keys" (list .key)) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $id := $root.Values.encryption.age.identitySecretRef -}}
{{- $drills := or $v.drill.enabled $m.drill.enabled $root.Values.platformConfig.drill.enabled -}}
{{- if and $id.name $root.Values.encryption.age.recipients (or (hasPrefix "restore-" $scope) (hasPrefix "drill-" $scope) (and $agentDrills $drills)) -}}
{{- $out = append $out (dict "name" "age-identity" "secret" $id.name "keys" (list $id.key)) -}}
{{- end -}}
{{- if or $agent (hasPrefix "backup-" $scope) (hasPrefix "drill-" $scope) -}}
{{- range $root.Values.notifications }}{{ $out = append $out (dict "name" (printf "notify-%s" .name) "secret" .secretRef.name "keys" (list (include "lifeboat.notifySecretKey" .)) "optional" true "notifier" true) }}{{ end -}}
{{- end -}}
{{- $sk := $root.Values.signing.privateKeySecretRef -}}
{{- if and $sk.name (or (hasPrefix "backup-" $scope) $agent) -}}
{{- $out = append $out (dict "name" "signing-key" "secret" $sk.name "keys" (list $sk.key)) -}}
{{- end -}}
{{- if $agent -}}
{{- $out = append $out (dict "name" "server-token" "secret" $root.Values.agent.tokenSecretRef.name "keys" (list $root.Values.agent.tokenSecretRef.key)) -}}
{{- with ($root.Values.agent.tls | default dict).secretName }}{{ $out = append $out (dict "name" "server-tls" "secret" . "keys" (list "tls.crt" "tls.key")) }}{{ end -}}
{{- end -}}
{{- range $d := (include "lifeboat.scopeDestinations" (list $root $scope) | fromJsonArray) -}}
{{- if eq $d.type "s3" -}}
{{- with $d.secretRef -}}
{{- if .name }}{{ $out = append $out (dict "name" (printf "s3-%s" $d.name) "secret" .name "keys" (list (.accessKeyIDKey | default "access-key-id") (.secretAccessKeyKey | default "secret-access-key")) "optional" true) }}{{ end -}}
{{- end -}}
{{- with $d.caSecretRef -}}
{{- if .name }}{{ $out = append $out (dict "name" (printf "s3-%s-ca" $d.name) "secret" .name "keys" (list (.key | default "ca.crt")) "optional" true) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if eq $d.type "azure" -}}
{{- with $d.secretRef -}}
{{- if .name }}{{ $out = append $out (dict "name" (printf "azure-%s" $d.name) "secret" .name "keys" (list (.sasTokenKey | default (.accountKeyKey | default "account-key"))) "optional" true) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if eq $d.type "gcs" -}}
{{- with $d.secretRef -}}
{{- if .name }}{{ $out = append $out (dict "name" (printf "gcs-%s" $d.name) "secret" .name "keys" (list (.key | default "key.json")) "optional" true) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* volumes: and volumeMounts: of a scope. */}}
{{- define "lifeboat.volumes" -}}
{{- $root := index . 0 -}}
{{- $scope := index . 1 -}}
- name: config
  configMap:
    name: {{ include "lifeboat.fullname" $root }}
- name: tmp
  emptyDir:
    sizeLimit: {{ $root.Values.tmpSizeLimit }}
{{- range (include "lifeboat.secretMounts" (list $root $scope) | fromJsonArray) }}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
    {{- if .notifier }}
    # A notifier's missing Secret must not keep the pod from starting: its deliveries
    # fail (logged, counted in lifeboat_notifications_failed_total), never the backup.
    {{- else if .optional }}
    # A destination's missing Secret must not keep the pod from starting: lifeboat fails
    # that destination (exit 2, named in the log and metrics) and writes to the others.
    {{- end }}
    {{- if .optional }}
    optional: true
    {{- end }}
    items:
    {{- range .keys }}
      - key: {{ . }}
        path: {{ . }}
    {{- end }}
{{- end }}
{{- range (include "lifeboat.scopeDestinations" (list $root $scope) | fromJsonArray) }}
{{- if eq .type "file" }}
- name: data-{{ .name }}
  persistentVolumeClaim:
    claimName: {{ include "lifeboat.destinationClaim" (list $root .) }}
{{- end }}
{{- end }}
{{- if and (eq $scope "agent") $root.Values.agent.persistence.enabled }}
- name: history
  persistentVolumeClaim:
    claimName: {{ include "lifeboat.historyClaim" $root }}
{{- end }}
{{- with $root.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "lifeboat.volumeMounts" -}}
{{- $root := index . 0 -}}
{{- $scope := index . 1 -}}
- name: config
  mountPath: {{ include "lifeboat.configPath" $root | dir }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- range (include "lifeboat.secretMounts" (list $root $scope) | fromJsonArray) }}
- name: {{ .name }}
  mountPath: /etc/lifeboat/secrets/{{ .name }}
  readOnly: true
{{- end }}
{{- range (include "lifeboat.scopeDestinations" (list $root $scope) | fromJsonArray) }}
{{- if eq .type "file" }}
- name: data-{{ .name }}
  mountPath: {{ include "lifeboat.destinationPath" .name }}
{{- end }}
{{- end }}
{{- if and (eq $scope "agent") $root.Values.agent.persistence.enabled }}
- name: history
  mountPath: {{ include "lifeboat.historyDir" $root }}
{{- end }}
{{- with $root.Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The lifeboat container. Argument: dict root, scope, args (after the global flags). */}}
{{- define "lifeboat.container" -}}
{{- $root := .root -}}
- name: lifeboat
  image: {{ include "lifeboat.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: ["/usr/local/bin/lifeboat"]
  args:
    {{- range (concat (list "--config" (include "lifeboat.configPath" $root) "--log-format" "json") .args) }}
    - {{ . | quote }}
    {{- end }}
  env:
    # The root filesystem is read-only: temporary files and anything a tool keeps in its
    # home go to the /tmp emptyDir.
    - name: TMPDIR
      value: /tmp
    - name: HOME
      value: /tmp
    {{- with $root.Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ports }}
  ports:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .probes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  resources:
    {{- toYaml $root.Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- include "lifeboat.volumeMounts" (list $root .scope) | nindent 4 }}
{{- end -}}

{{/* The pod spec. Argument: dict root, scope, args, restartPolicy (+ ports, probes,
     serviceAccountName). */}}
{{- define "lifeboat.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ .serviceAccountName | default (include "lifeboat.serviceAccountName" $root) }}
{{- /* The platform configuration is read through the Kubernetes API with the pod's token. */}}
{{- $automount := $root.Values.serviceAccount.automountToken }}
{{- if or (hasSuffix "-platform-config" .scope) (and (eq .scope "agent") (include "lifeboat.platformConfigEnabled" $root)) }}{{ $automount = true }}{{ end }}
automountServiceAccountToken: {{ $automount }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  {{- include "lifeboat.container" . | nindent 2 }}
volumes:
  {{- include "lifeboat.volumes" (list $root .scope) | nindent 2 }}
{{- end -}}

{{/* Pod metadata: labels (with the component) and annotations. */}}
{{- define "lifeboat.podMetadata" -}}
{{- $root := .root -}}
labels:
  {{- include "lifeboat.selectorLabels" $root | nindent 2 }}
  app.kubernetes.io/component: {{ .component }}
  {{- if $root.Values.serviceAccount.azureWorkloadIdentity.enabled }}
  azure.workload.identity/use: "true"
  {{- end }}
  {{- with $root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  checksum/config: {{ include "lifeboat.config" (list $root false) | sha256sum }}
  {{- with $root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with .annotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
