{{/*
The lifeboat config file, built as a dict and written with toYaml. Every credential is a
{file: ...} reference to a path where lifeboat.volumes mounts the Secret; no value of a
Secret ever reaches the ConfigMap. The tests (test/helm) check that the result passes
lifeboat's own config.Parse.
*/}}

{{- define "lifeboat.fileRef" -}}
{{- dict "file" (include "lifeboat.secretPath" .) | toJson -}}
{{- end -}}

{{/* The volume a drill seal credential is mounted from: one per secretRefs entry, named
     after the seal parameter (volume names take no "_"; parameter names no "-"). */}}
{{- define "lifeboat.sealVolume" -}}
{{- printf "vault-drill-seal-%s" (replace "_" "-" .) -}}
{{- end -}}

{{/* Seal parameters that are credentials (config.SealSecretParameters; test/helm checks the
     two lists agree): refused under parameters, so that no credential reaches the ConfigMap. */}}
{{- define "lifeboat.sealSecretParameters" -}}
{{- list "token" "secret_key" "access_key" "session_token" "client_secret" "pin" "current_key" "previous_key" | toJson -}}
{{- end -}}

{{- define "lifeboat.config.vaultSource" -}}
{{- $root := . -}}
{{- $v := .Values.vault -}}
{{- $vc := dict -}}
{{- with $v.address }}{{ $_ := set $vc "address" . }}{{ end -}}
{{- with $v.nodes }}{{ $_ := set $vc "nodes" . }}{{ end -}}
{{- $tls := $v.tls.secretRef -}}
{{- if $tls.name -}}
{{- with $tls.caKey }}{{ $_ := set $vc "caCert" (include "lifeboat.secretPath" (list "vault-tls" .)) }}{{ end -}}
{{- if and $tls.certKey $tls.keyKey -}}
{{- $_ := set $vc "clientCert" (include "lifeboat.secretPath" (list "vault-tls" $tls.certKey)) -}}
{{- $_ := set $vc "clientKey" (include "lifeboat.secretPath" (list "vault-tls" $tls.keyKey)) -}}
{{- end -}}
{{- end -}}
{{- with $v.tls.serverName }}{{ $_ := set $vc "tlsServerName" . }}{{ end -}}
{{- if $v.tls.skipVerify }}{{ $_ := set $vc "tlsSkipVerify" true }}{{ end -}}
{{- if $v.allowInsecureHTTP }}{{ $_ := set $vc "allowInsecureHTTP" true }}{{ end -}}
{{- with $v.namespace }}{{ $_ := set $vc "namespace" . }}{{ end -}}
{{- with $v.timeout }}{{ $_ := set $vc "timeout" . }}{{ end -}}
{{- with $v.compression }}{{ $_ := set $vc "compression" . }}{{ end -}}
{{- with $v.compressionLevel }}{{ $_ := set $vc "compressionLevel" (int .) }}{{ end -}}
{{- with $v.compressionThreads }}{{ $_ := set $vc "compressionThreads" (int .) }}{{ end -}}
{{- $a := $v.auth -}}
{{- $auth := dict "method" $a.method -}}
{{- if eq $a.method "kubernetes" -}}
{{- $_ := set $auth "kubernetes" (dict "role" $a.kubernetes.role "mountPath" $a.kubernetes.mountPath) -}}
{{- else if eq $a.method "approle" -}}
{{- $ar := $a.approle.secretRef -}}
{{- if not $ar.name }}{{ fail "vault.auth.approle.secretRef.name: required for auth method approle (a Secret with the role id and secret id)" }}{{ end -}}
{{- $approle := dict "mountPath" $a.approle.mountPath "roleID" (include "lifeboat.fileRef" (list "vault-auth" $ar.roleIDKey) | fromJson) -}}
{{- with $ar.secretIDKey }}{{ $_ := set $approle "secretID" (include "lifeboat.fileRef" (list "vault-auth" .) | fromJson) }}{{ end -}}
{{- $_ := set $auth "approle" $approle -}}
{{- else if eq $a.method "token" -}}
{{- if not $a.token.secretRef.name }}{{ fail "vault.auth.token.secretRef.name: required for auth method token (a Secret with a periodic token)" }}{{ end -}}
{{- $_ := set $auth "token" (include "lifeboat.fileRef" (list "vault-auth" $a.token.secretRef.key) | fromJson) -}}
{{- else -}}
{{- fail (printf "vault.auth.method: must be kubernetes, approle or token (got %q)" $a.method) -}}
{{- end -}}
{{- $_ := set $vc "auth" $auth -}}
{{- $src := dict "name" $v.sourceName "kind" "vault" -}}
{{- if $v.backup.enabled -}}
{{- $_ := set $src "schedule" $v.backup.schedule -}}
{{- with $v.backup.jitter }}{{ $_ := set $src "jitter" . }}{{ end -}}
{{- end -}}
{{- with $v.backup.destinations }}{{ $_ := set $src "destinations" . }}{{ end -}}
{{- $_ := set $src "vault" $vc -}}
{{- if $v.drill.enabled -}}
{{- $d := $v.drill -}}
{{- $dv := dict "binary" $d.binary -}}
{{- $seal := $d.seal | default dict -}}
{{- if $seal.type -}}
{{- if $d.unsealKeysSecretRef.name }}{{ fail "vault.drill.seal and vault.drill.unsealKeysSecretRef: set one, not both (seal for an auto-unsealed cluster, unsealKeysSecretRef.name for the unseal keys of a Shamir-sealed one)" }}{{ end -}}
{{- $sc := dict "type" $seal.type -}}
{{- with $seal.parameters -}}
{{- range $name, $val := . -}}
{{- if has $name (include "lifeboat.sealSecretParameters" $root | fromJsonArray) }}{{ fail (printf "vault.drill.seal.parameters.%s: is a credential: move it to vault.drill.seal.secretRefs.%s (a Secret, mounted as a file)" $name $name) }}{{ end -}}
{{- end -}}
{{- $_ := set $sc "parameters" . -}}
{{- end -}}
{{- $secrets := dict -}}
{{- range $name, $ref := ($seal.secretRefs | default dict) -}}
{{- if hasKey ($seal.parameters | default dict) $name }}{{ fail (printf "vault.drill.seal.secretRefs.%s: also set in vault.drill.seal.parameters: set it in one place" $name) }}{{ end -}}
{{- $_ := set $secrets $name (include "lifeboat.fileRef" (list (include "lifeboat.sealVolume" $name) ($ref.key | default $name)) | fromJson) -}}
{{- end -}}
{{- with $secrets }}{{ $_ := set $sc "secrets" . }}{{ end -}}
{{- $_ := set $dv "seal" $sc -}}
{{- else -}}
{{- if or $seal.parameters $seal.secretRefs }}{{ fail "vault.drill.seal.type: required when vault.drill.seal.parameters or secretRefs are set (transit, awskms, gcpckms, azurekeyvault, static or pkcs11)" }}{{ end -}}
{{- if not $d.unsealKeysSecretRef.name }}{{ fail "vault.drill.unsealKeysSecretRef.name: required when vault.drill.enabled (the ORIGINAL cluster's unseal keys), or vault.drill.seal for an auto-unsealed cluster" }}{{ end -}}
{{- $_ := set $dv "unsealKeys" (include "lifeboat.fileRef" (list "vault-drill-unseal-keys" $d.unsealKeysSecretRef.key) | fromJson) -}}
{{- end -}}
{{- if and (ne (toString $v.auth.method) "token") (not $d.tokenSecretRef.name) }}{{ fail (printf "vault.drill.tokenSecretRef.name: required when vault.auth.method is %s (that login reaches only the live cluster; the drill needs a token valid in the backed-up cluster)" (toString $v.auth.method)) }}{{ end -}}
{{- if $d.tokenSecretRef.name }}{{ $_ := set $dv "token" (include "lifeboat.fileRef" (list "vault-drill-token" $d.tokenSecretRef.key) | fromJson) }}{{ end -}}
{{- with $d.mounts }}{{ $_ := set $dv "mounts" . }}{{ end -}}
{{- with $d.secrets }}{{ $_ := set $dv "secrets" . }}{{ end -}}
{{- $drill := dict "vault" $dv -}}
{{- if include "lifeboat.agentDrills" $root }}{{ $_ := set $drill "schedule" $d.schedule }}{{ end -}}
{{- $_ := set $src "drill" $drill -}}
{{- end -}}
{{- toJson $src -}}
{{- end -}}

{{- define "lifeboat.config.workflowsSource" -}}
{{- $root := . -}}
{{- $m := .Values.workflows.metadataDatabase -}}
{{- $pg := dict -}}
{{- if $m.dsnSecretRef.name -}}
{{- if $m.host }}{{ fail "workflows.metadataDatabase: set either host or dsnSecretRef, not both" }}{{ end -}}
{{- $_ := set $pg "dsn" (include "lifeboat.fileRef" (list "pg-auth" $m.dsnSecretRef.key) | fromJson) -}}
{{- else -}}
{{- if not $m.host }}{{ fail "workflows.metadataDatabase.host: required (or dsnSecretRef)" }}{{ end -}}
{{- $_ := set $pg "host" $m.host -}}
{{- $_ := set $pg "port" (int $m.port) -}}
{{- $_ := set $pg "database" $m.database -}}
{{- with $m.user }}{{ $_ := set $pg "user" . }}{{ end -}}
{{- if $m.passwordSecretRef.name }}{{ $_ := set $pg "password" (include "lifeboat.fileRef" (list "pg-auth" $m.passwordSecretRef.key) | fromJson) }}{{ end -}}
{{- with $m.sslMode }}{{ $_ := set $pg "sslMode" . }}{{ end -}}
{{- if $m.caSecretRef.name }}{{ $_ := set $pg "sslRootCert" (include "lifeboat.secretPath" (list "pg-tls" $m.caSecretRef.key)) }}{{ end -}}
{{- end -}}
{{- with $m.binDir }}{{ $_ := set $pg "binDir" . }}{{ end -}}
{{- if $m.globals }}{{ $_ := set $pg "globals" true }}{{ end -}}
{{- if $m.skipRowCounts }}{{ $_ := set $pg "skipRowCounts" true }}{{ end -}}
{{- with $m.compressionLevel }}{{ $_ := set $pg "compressionLevel" (int .) }}{{ end -}}
{{- with $m.compressionThreads }}{{ $_ := set $pg "compressionThreads" (int .) }}{{ end -}}
{{- $src := dict "name" $m.sourceName "kind" "postgres" -}}
{{- if $m.backup.enabled -}}
{{- $_ := set $src "schedule" $m.backup.schedule -}}
{{- with $m.backup.jitter }}{{ $_ := set $src "jitter" . }}{{ end -}}
{{- end -}}
{{- with $m.backup.destinations }}{{ $_ := set $src "destinations" . }}{{ end -}}
{{- $_ := set $src "postgres" $pg -}}
{{- $r := $m.restore -}}
{{- if or $r.scaleDown $r.before $r.after -}}
{{- $hooks := dict -}}
{{- with $r.scaleDown }}{{ $_ := set $hooks "scaleDown" . }}{{ end -}}
{{- with $r.scaleTimeout }}{{ $_ := set $hooks "scaleTimeout" . }}{{ end -}}
{{- with $r.before }}{{ $_ := set $hooks "before" . }}{{ end -}}
{{- with $r.after }}{{ $_ := set $hooks "after" . }}{{ end -}}
{{- with $r.passEnv }}{{ $_ := set $hooks "passEnv" . }}{{ end -}}
{{- $_ := set $src "restore" $hooks -}}
{{- end -}}
{{- if $m.drill.enabled -}}
{{- $drill := dict -}}
{{- if include "lifeboat.agentDrills" $root }}{{ $_ := set $drill "schedule" $m.drill.schedule }}{{ end -}}
{{- with $m.drill.database }}{{ $_ := set $drill "postgres" (dict "database" .) }}{{ end -}}
{{- $_ := set $src "drill" $drill -}}
{{- end -}}
{{- toJson $src -}}
{{- end -}}

{{- define "lifeboat.config.destinations" -}}
{{- $root := index . 0 -}}
{{- $only := index . 1 -}}
{{- $out := list -}}
{{- range $root.Values.destinations -}}
{{- if or (not $only) (has .name $only) -}}
{{- $d := dict "name" .name "kind" .type -}}
{{- with .prefix }}{{ $_ := set $d "prefix" . }}{{ end -}}
{{- if eq .type "s3" -}}
{{- $s3 := dict "bucket" .bucket -}}
{{- with .endpoint }}{{ $_ := set $s3 "endpoint" . }}{{ end -}}
{{- with .region }}{{ $_ := set $s3 "region" . }}{{ end -}}
{{- if .pathStyle }}{{ $_ := set $s3 "pathStyle" true }}{{ end -}}
{{- with .partSizeMiB }}{{ $_ := set $s3 "partSizeMiB" (int .) }}{{ end -}}
{{- with .objectLock }}{{ $_ := set $s3 "objectLock" (dict "mode" .mode "retainFor" .retainFor) }}{{ end -}}
{{- $vol := printf "s3-%s" .name -}}
{{- with .secretRef -}}
{{- if .name -}}
{{- $_ := set $s3 "accessKeyID" (include "lifeboat.fileRef" (list $vol (.accessKeyIDKey | default "access-key-id")) | fromJson) -}}
{{- $_ := set $s3 "secretAccessKey" (include "lifeboat.fileRef" (list $vol (.secretAccessKeyKey | default "secret-access-key")) | fromJson) -}}
{{- end -}}
{{- end -}}
{{- with .caSecretRef -}}
{{- if .name }}{{ $_ := set $s3 "caCert" (include "lifeboat.secretPath" (list (printf "%s-ca" $vol) (.key | default "ca.crt"))) }}{{ end -}}
{{- end -}}
{{- $_ := set $d "s3" $s3 -}}
{{- else if eq .type "azure" -}}
{{- $az := dict "account" .account "container" .container -}}
{{- with .endpoint }}{{ $_ := set $az "endpoint" . }}{{ end -}}
{{- with .blockSizeMiB }}{{ $_ := set $az "blockSizeMiB" (int .) }}{{ end -}}
{{- $azVol := printf "azure-%s" .name -}}
{{- with .secretRef -}}
{{- if .name -}}
{{- if .sasTokenKey -}}
{{- $_ := set $az "sasToken" (include "lifeboat.fileRef" (list $azVol .sasTokenKey) | fromJson) -}}
{{- else -}}
{{- $_ := set $az "accountKey" (include "lifeboat.fileRef" (list $azVol (.accountKeyKey | default "account-key")) | fromJson) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $d "azure" $az -}}
{{- else if eq .type "gcs" -}}
{{- /* gcs: a service account key from a Secret, or (no secretRef) Application Default
       Credentials: GKE Workload Identity through serviceAccount.annotations. */ -}}
{{- $gcs := dict "bucket" .bucket -}}
{{- with .endpoint }}{{ $_ := set $gcs "endpoint" . }}{{ end -}}
{{- with .chunkSizeMiB }}{{ $_ := set $gcs "chunkSizeMiB" (int .) }}{{ end -}}
{{- $vol := printf "gcs-%s" .name -}}
{{- with .secretRef -}}
{{- if .name }}{{ $_ := set $gcs "credentialsFile" (include "lifeboat.secretPath" (list $vol (.key | default "key.json"))) }}{{ end -}}
{{- end -}}
{{- $_ := set $d "gcs" $gcs -}}
{{- else if eq .type "file" -}}
{{- $_ := set $d "file" (dict "path" (include "lifeboat.destinationPath" .name)) -}}
{{- end -}}
{{- with .retention }}{{ $_ := set $d "retention" . }}{{ end -}}
{{- $out = append $out $d -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The whole config. Argument: (list $root $vaultOnly); vaultOnly renders just the Vault
     source and its destinations, for vault.autoRestore. */}}
{{- define "lifeboat.config" -}}
{{- $root := index . 0 -}}
{{- $vaultOnly := index . 1 -}}
{{- include "lifeboat.validate" $root -}}
{{- $cfg := dict -}}
{{- $sources := list -}}
{{- if include "lifeboat.vaultEnabled" $root -}}
{{- $sources = append $sources (include "lifeboat.config.vaultSource" $root | fromJson) -}}
{{- end -}}
{{- if and (not $vaultOnly) (include "lifeboat.workflowsEnabled" $root) -}}
{{- $sources = append $sources (include "lifeboat.config.workflowsSource" $root | fromJson) -}}
{{- end -}}
{{- if and (not $vaultOnly) (include "lifeboat.platformConfigEnabled" $root) -}}
{{- $sources = append $sources (include "lifeboat.config.platformSource" $root | fromJson) -}}
{{- end -}}
{{- $only := list -}}
{{- if $vaultOnly -}}
{{- /* The Vault pods reach object storage, not lifeboat's volumes: S3 and GCS destinations only. */ -}}
{{- range $root.Values.destinations -}}
{{- if and (has .type (list "s3" "gcs")) (or (not $root.Values.vault.backup.destinations) (has .name $root.Values.vault.backup.destinations)) -}}
{{- $only = append $only .name -}}
{{- end -}}
{{- end -}}
{{- if not $only }}{{ fail "vault.autoRestore: the Vault source has no s3 or gcs destination to restore from (file destinations are not reachable from the Vault pods)" }}{{ end -}}
{{- $vs := first $sources -}}
{{- $_ := set $vs "destinations" $only -}}
{{- $_ := unset $vs "schedule" -}}
{{- $_ := unset $vs "drill" -}}
{{- /* auto-restore never logs in: it works with the temporary root token of the node it
       initialises. No credential of lifeboat's own reaches the Vault pods. */ -}}
{{- $_ := set (get $vs "vault") "auth" (dict "method" "token") -}}
{{- $ar := $root.Values.vault.autoRestore -}}
{{- if and (($ar.serviceAccount | default dict).create | default false) (or (not $ar.autoUnseal) $ar.restartPod) -}}
{{- /* The unseal keys are read, and node 0's pod is restarted, as auto-restore's own
       service account (auto-restore.yaml). */ -}}
{{- $_ := set $vs "restore" (dict "kubernetes" (dict "tokenFile" "/etc/lifeboat/auto-restore/token" "caFile" "/etc/lifeboat/auto-restore/ca.crt")) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $cfg "sources" $sources -}}
{{- $_ := set $cfg "destinations" (include "lifeboat.config.destinations" (list $root $only) | fromJsonArray) -}}
{{- $age := $root.Values.encryption.age -}}
{{- if $age.recipients -}}
{{- $enc := dict "recipients" $age.recipients -}}
{{- $id := $age.identitySecretRef -}}
{{- if $vaultOnly }}{{ $id = $root.Values.vault.autoRestore.identitySecretRef }}{{ end -}}
{{- if $id.name }}{{ $_ := set $enc "identityFile" (include "lifeboat.secretPath" (list "age-identity" $id.key)) }}{{ end -}}
{{- $_ := set $cfg "encryption" (dict "age" $enc) -}}
{{- end -}}
{{- $sg := $root.Values.signing -}}
{{- if $sg.publicKeys -}}
{{- $signing := dict "publicKeys" $sg.publicKeys -}}
{{- /* The private key is named in the one config every pod reads, but mounted only where
       backups run; readers use publicKeys and never open it. auto-restore gets none. */ -}}
{{- if and $sg.privateKeySecretRef.name (not $vaultOnly) }}{{ $_ := set $signing "privateKey" (include "lifeboat.fileRef" (list "signing-key" $sg.privateKeySecretRef.key) | fromJson) }}{{ end -}}
{{- $_ := set $cfg "signing" $signing -}}
{{- end -}}
{{- if and (eq $root.Values.mode "agent") (not $vaultOnly) -}}
{{- $a := $root.Values.agent -}}
{{- $srv := dict "listen" (printf ":%d" (int $a.port)) "token" (include "lifeboat.fileRef" (list "server-token" $a.tokenSecretRef.key) | fromJson) "historyLimit" (int $a.historyLimit) -}}
{{- if $a.openReadOnly }}{{ $_ := set $srv "openReadOnly" true }}{{ end -}}
{{- with ($a.tls | default dict).secretName }}{{ $_ := set $srv "tls" (dict "certFile" (include "lifeboat.secretPath" (list "server-tls" "tls.crt")) "keyFile" (include "lifeboat.secretPath" (list "server-tls" "tls.key"))) }}{{ end -}}
{{- if $a.persistence.enabled }}{{ $_ := set $srv "historyPath" (printf "%s/history.db" (include "lifeboat.historyDir" $root)) }}{{ end -}}
{{- $_ := set $cfg "server" $srv -}}
{{- end -}}
{{- with $root.Values.pushgateway -}}
{{- if and (eq $root.Values.mode "cronjob") (not $vaultOnly) }}{{ $_ := set $cfg "pushgateway" . }}{{ end -}}
{{- end -}}
{{- if and $root.Values.notifications (not $vaultOnly) -}}
{{- $_ := set $cfg "notifications" (include "lifeboat.config.notifications" $root | fromJsonArray) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* notifications: each notifier's credential is a file where lifeboat.secretMounts
     mounts its Secret (backup and drill pods, the agent). */}}
{{- define "lifeboat.notifySecretKey" -}}
{{- .secretRef.key | default (ternary "hmac-secret" "webhook-url" (eq .type "webhook")) -}}
{{- end -}}
{{- define "lifeboat.config.notifications" -}}
{{- $out := list -}}
{{- range .Values.notifications -}}
{{- $ref := include "lifeboat.fileRef" (list (printf "notify-%s" .name) (include "lifeboat.notifySecretKey" .)) | fromJson -}}
{{- $n := dict "name" .name "kind" .type -}}
{{- if eq .type "webhook" -}}
{{- $_ := set $n "webhook" (dict "url" .url "secret" $ref) -}}
{{- else -}}
{{- if .url }}{{ fail (printf "notifications[%s].url: a slack notifier's URL embeds Slack's token: put it in the Secret that secretRef names (key %s), not in the values" .name (include "lifeboat.notifySecretKey" .)) }}{{ end -}}
{{- $_ := set $n "slack" (dict "url" $ref) -}}
{{- end -}}
{{- with .events }}{{ $_ := set $n "events" . }}{{ end -}}
{{- $out = append $out $n -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
