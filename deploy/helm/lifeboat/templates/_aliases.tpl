{{/*
Values in the shape platform charts already write, mapped onto the chart's own keys before
anything is rendered, so both shapes give the same objects (test/helm checks this with
golden files). Every template file starts with `include "lifeboat.normalize" .`: the
mapping rewrites .Values in place and is idempotent (it sets what it would set again, and
refuses only values that contradict it), so it does not matter which template runs first.

  vault.backup.destination                 → destinations[] + vault.backup.destinations
  workflows.metadataDatabase.backup.destination
                                           → destinations[] + ….backup.destinations
  workflows.metadataDatabase.inCluster     → host (<service>.<namespace>.svc), port,
                                             database, user, sslMode, passwordSecretRef
  workflows.metadataDatabase.external      → host, port, database, user, sslMode,
                                             passwordSecretRef, caSecretRef
*/}}

{{- define "lifeboat.normalize" -}}
{{- $root := . -}}
{{- $v := .Values -}}
{{- range $src := list (list "vault.backup" $v.vault.sourceName $v.vault.backup) (list "workflows.metadataDatabase.backup" $v.workflows.metadataDatabase.sourceName $v.workflows.metadataDatabase.backup) -}}
{{- $at := index $src 0 -}}
{{- $b := index $src 2 -}}
{{- with $b.destination -}}
{{- $d := deepCopy . -}}
{{- if not $d.type }}{{ fail (printf "%s.destination.type: required (s3, gcs, azure or file)" $at) }}{{ end -}}
{{- $name := $d.name | default (printf "%s-%s" (index $src 1) $d.type) -}}
{{- $_ := set $d "name" $name -}}
{{- if kindIs "string" $d.secretRef }}{{ $_ := set $d "secretRef" (dict "name" $d.secretRef) }}{{ end -}}
{{- $found := false -}}
{{- range $v.destinations -}}
{{- if eq (toString .name) $name -}}
{{- $found = true -}}
{{- if ne (toJson .) (toJson $d) -}}
{{- fail (printf "destinations: %q is defined twice, in destinations and by %s.destination (which is named %s-%s unless it sets name); rename one of them" $name $at (index $src 1) $d.type) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $found }}{{ $_ := set $v "destinations" (append ($v.destinations | default list) $d) }}{{ end -}}
{{- if and $b.destinations (ne (toJson $b.destinations) (toJson (list $name))) -}}
{{- fail (printf "%s.destination: not together with %s.destinations; name the destinations in one of them" $at $at) -}}
{{- end -}}
{{- $_ := set $b "destinations" (list $name) -}}
{{- end -}}
{{- end -}}
{{- $m := $v.workflows.metadataDatabase -}}
{{- $in := include "lifeboat.aliasBlock" (list $m "inCluster") | fromJson -}}
{{- $ex := include "lifeboat.aliasBlock" (list $m "external") | fromJson -}}
{{- if and $in $ex -}}
{{- fail "workflows.metadataDatabase: inCluster and external are both set; keep one (or set enabled: false on the other)" -}}
{{- end -}}
{{- $at := ternary "workflows.metadataDatabase.inCluster" "workflows.metadataDatabase.external" (not (empty $in)) -}}
{{- with (merge (dict) $in $ex) -}}
{{- $host := "" -}}
{{- if $in -}}
{{- if not .service }}{{ fail (printf "%s.service: required (the PostgreSQL Service's name)" $at) }}{{ end -}}
{{- $host = printf "%s.%s.svc" .service (.namespace | default $root.Release.Namespace) -}}
{{- else -}}
{{- if not .host }}{{ fail (printf "%s.host: required (the database server's address)" $at) }}{{ end -}}
{{- $host = .host -}}
{{- end -}}
{{- if $m.dsnSecretRef.name }}{{ fail (printf "%s: not together with workflows.metadataDatabase.dsnSecretRef; use one of them" $at) }}{{ end -}}
{{- if and $m.host (ne $m.host $host) }}{{ fail (printf "%s: not together with workflows.metadataDatabase.host; use one of them" $at) }}{{ end -}}
{{- $_ := set $m "host" $host -}}
{{- with .port }}{{ $_ := set $m "port" . }}{{ end -}}
{{- with .database }}{{ $_ := set $m "database" . }}{{ end -}}
{{- with .user }}{{ $_ := set $m "user" . }}{{ end -}}
{{- with .sslMode }}{{ $_ := set $m "sslMode" . }}{{ end -}}
{{- with .secretRef -}}
{{- if kindIs "string" . -}}
{{- $_ := set $m "passwordSecretRef" (dict "name" . "key" "password") -}}
{{- else -}}
{{- $_ := set $m "passwordSecretRef" (dict "name" .name "key" (.key | default "password")) -}}
{{- end -}}
{{- end -}}
{{- with .caSecretRef }}{{ $_ := set $m "caSecretRef" (dict "name" .name "key" (.key | default "ca.crt")) }}{{ end -}}
{{- end -}}
{{- end -}}

{{/* An alias block that is in use: set, and not `enabled: false`. (list $parent key) → the
     block without `enabled`, or {}. */}}
{{- define "lifeboat.aliasBlock" -}}
{{- $b := get (index . 0) (index . 1) | default dict -}}
{{- if and (hasKey $b "enabled") (not $b.enabled) -}}
{{- toJson dict -}}
{{- else -}}
{{- toJson (omit $b "enabled") -}}
{{- end -}}
{{- end -}}
