{{/* Checks that fail `helm install` with a message naming the value to fix, for mistakes
     that lifeboat would otherwise only report when the first Job runs. */}}
{{- define "lifeboat.validate" -}}
{{- $v := .Values -}}
{{- if not (has $v.mode (list "cronjob" "agent")) -}}
{{- fail (printf "mode: must be cronjob or agent (got %q)" $v.mode) -}}
{{- end -}}
{{- if not (or (include "lifeboat.vaultEnabled" .) (include "lifeboat.workflowsEnabled" .) (include "lifeboat.platformConfigEnabled" .)) -}}
{{- fail "nothing to do: enable vault.backup, workflows.metadataDatabase.backup and/or platformConfig.backup" -}}
{{- end -}}
{{- if not $v.destinations -}}
{{- fail "destinations: configure at least one destination (type s3, gcs, azure or file); see values.yaml" -}}
{{- end -}}
{{- $names := list -}}
{{- range $i, $d := $v.destinations -}}
{{- if not (regexMatch "^[a-z][a-z0-9-]{0,40}$" (toString $d.name)) -}}
{{- fail (printf "destinations[%d].name: %q must be lowercase letters, digits and '-', a letter first, at most 41 characters" $i (toString $d.name)) -}}
{{- end -}}
{{- if has $d.name $names }}{{ fail (printf "destinations[%d].name: %q is used twice" $i $d.name) }}{{ end -}}
{{- $names = append $names $d.name -}}
{{- if eq (toString $d.type) "s3" -}}
{{- if not $d.bucket }}{{ fail (printf "destinations[%d].bucket: required for type s3" $i) }}{{ end -}}
{{- if $d.persistence }}{{ fail (printf "destinations[%d].persistence: only for type file" $i) }}{{ end -}}
{{- else if eq (toString $d.type) "azure" -}}
{{- if not $d.account }}{{ fail (printf "destinations[%d].account: required for type azure (the storage account name)" $i) }}{{ end -}}
{{- if not $d.container }}{{ fail (printf "destinations[%d].container: required for type azure" $i) }}{{ end -}}
{{- if $d.bucket }}{{ fail (printf "destinations[%d].bucket: only for type s3; azure takes account and container" $i) }}{{ end -}}
{{- if $d.persistence }}{{ fail (printf "destinations[%d].persistence: only for type file" $i) }}{{ end -}}
{{- with $d.secretRef -}}
{{- if and .accountKeyKey .sasTokenKey }}{{ fail (printf "destinations[%d].secretRef: set accountKeyKey or sasTokenKey, not both" $i) }}{{ end -}}
{{- end -}}
{{- else if eq (toString $d.type) "gcs" -}}
{{- if not $d.bucket }}{{ fail (printf "destinations[%d].bucket: required for type gcs" $i) }}{{ end -}}
{{- if $d.persistence }}{{ fail (printf "destinations[%d].persistence: only for type file" $i) }}{{ end -}}
{{- range $f := list "region" "pathStyle" "partSizeMiB" "caSecretRef" -}}
{{- if hasKey $d $f }}{{ fail (printf "destinations[%d].%s: only for type s3 (gcs takes bucket, prefix, endpoint, chunkSizeMiB, secretRef)" $i $f) }}{{ end -}}
{{- end -}}
{{- if and (hasPrefix "http://" (toString $d.endpoint)) $d.secretRef -}}
{{- fail (printf "destinations[%d].secretRef: not used with a plain http:// endpoint (an emulator gets no credentials); use https:// or drop secretRef" $i) -}}
{{- end -}}
{{- else if eq (toString $d.type) "file" -}}
{{- if $d.bucket }}{{ fail (printf "destinations[%d].bucket: only for types s3 and gcs" $i) }}{{ end -}}
{{- if $d.objectLock }}{{ fail (printf "destinations[%d].objectLock: only for type s3; a file destination is made immutable by its storage (docs/security.md#immutable-copies)" $i) }}{{ end -}}
{{- else -}}
{{- fail (printf "destinations[%d].type: must be s3, gcs, azure or file (got %q)" $i (toString $d.type)) -}}
{{- end -}}
{{- end -}}
{{- range $src := list (list "vault.backup.destinations" $v.vault.backup.destinations) (list "workflows.metadataDatabase.backup.destinations" $v.workflows.metadataDatabase.backup.destinations) (list "platformConfig.backup.destinations" $v.platformConfig.backup.destinations) -}}
{{- range (index $src 1) -}}
{{- if not (has . $names) }}{{ fail (printf "%s: unknown destination %q (configured: %s)" (index $src 0) . (join ", " $names)) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- with $v.serviceAccount.azureWorkloadIdentity -}}
{{- if and .enabled $v.serviceAccount.create (not .clientID) -}}
{{- fail "serviceAccount.azureWorkloadIdentity.clientID: required when enabled (the client id of the managed identity or app registration whose federated credential trusts this service account)" -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.mode "agent") (not $v.agent.tokenSecretRef.name) -}}
{{- fail "agent.tokenSecretRef.name: required in agent mode (a Secret with the API token: openssl rand -hex 32 > api-token; kubectl create secret generic lifeboat-api --from-file=token=api-token)" -}}
{{- end -}}
{{- if and $v.vault.restore.enabled (not $v.vault.restore.snapshot) -}}
{{- fail "vault.restore.snapshot: required when vault.restore.enabled (a backup id from `lifeboat list vault`, or latest)" -}}
{{- end -}}
{{- if and $v.workflows.metadataDatabase.restore.enabled (not $v.workflows.metadataDatabase.restore.dump) -}}
{{- fail "workflows.metadataDatabase.restore.dump: required when workflows.metadataDatabase.restore.enabled (a backup id, or latest)" -}}
{{- end -}}
{{- $pc := $v.platformConfig -}}
{{- if include "lifeboat.platformConfigEnabled" . -}}
{{- if and (not $pc.namespaces) (not $pc.namespaceSelector) -}}
{{- fail "platformConfig.namespaces: required: list the namespaces to back up (e.g. [argo]), or set platformConfig.namespaceSelector to a label selector" -}}
{{- end -}}
{{- if and $pc.namespaces $pc.namespaceSelector -}}
{{- fail "platformConfig.namespaceSelector: not together with platformConfig.namespaces; use one of them" -}}
{{- end -}}
{{- end -}}
{{- if and $pc.restore.enabled (not $pc.restore.resources) -}}
{{- fail "platformConfig.restore.resources: required when platformConfig.restore.enabled (a backup id from `lifeboat list platform-config`, or latest)" -}}
{{- end -}}
{{- if and $v.vault.autoRestore.enabled (not $v.vault.nodes) -}}
{{- fail "vault.nodes: required with vault.autoRestore (an uninitialised cluster has no active service; auto-restore talks to each server)" -}}
{{- end -}}
{{- if and $v.signing.privateKeySecretRef.name (not $v.signing.publicKeys) -}}
{{- fail "signing.publicKeys: required with signing.privateKeySecretRef (the public key `lifeboat keygen` printed): restores, drills and auto-restore check backups against it" -}}
{{- end -}}
{{- if and $v.vault.autoRestore.enabled $v.encryption.age.recipients (not $v.vault.autoRestore.identitySecretRef.name) -}}
{{- fail "vault.autoRestore.identitySecretRef.name: required when encryption.age is on (auto-restore has to decrypt the snapshot)" -}}
{{- end -}}
{{- if and $v.metrics.prometheusRule.enabled (eq $v.mode "cronjob") (not $v.pushgateway) -}}
{{- fail "metrics.prometheusRule.enabled: in mode cronjob the alerts need the metrics every run pushes: set pushgateway (e.g. http://prometheus-pushgateway.monitoring.svc:9091, scraped with honor_labels: true); without it LifeboatBackupTooOld fires forever" -}}
{{- end -}}
{{- if and $v.metrics.serviceMonitor.enabled (ne $v.mode "agent") -}}
{{- fail "metrics.serviceMonitor.enabled: needs mode agent (CronJob runs push to a Pushgateway instead; set pushgateway)" -}}
{{- end -}}
{{- end -}}
