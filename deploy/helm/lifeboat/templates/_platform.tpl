{{/*
The platform's configuration: a `kubernetes` source (platformConfig) and the RBAC each of
its pods needs. Three service accounts, each with only its own job's permissions:
  <release>-platform-config          backups: get/list on what is listed (read only)
  <release>-platform-config-restore  the restore Job: get/create/patch (rendered only while
                                     platformConfig.restore.enabled)
  <release>-platform-config-drill    drills: create/delete a scratch namespace and
                                     get/create/patch the backed-up kinds anywhere (a
                                     dry-run needs the same RBAC as a write)
In agent mode the agent backs up and drills, so the read and drill rules are bound to the
chart's service account instead. With rbac.create false nothing is rendered and every pod
runs as the chart's service account, which you grant yourself.
*/}}

{{- define "lifeboat.platformConfigEnabled" -}}
{{- $p := .Values.platformConfig -}}
{{- if or $p.backup.enabled $p.restore.enabled $p.drill.enabled }}true{{ end -}}
{{- end -}}

{{/* lifeboat's DefaultKubernetesResources (internal/config/types_kubernetes.go; a test in
     test/helm keeps the two lists equal). */}}
{{- define "lifeboat.platform.resources" -}}
{{- $r := .Values.platformConfig.resources -}}
{{- if not $r }}{{ $r = list "configmaps" "secrets" "serviceaccounts" "roles.rbac.authorization.k8s.io" "rolebindings.rbac.authorization.k8s.io" }}{{ end -}}
{{- toJson $r -}}
{{- end -}}

{{/* The service account of a platform-config pod: (list $root "backup"|"restore"|"drill"). */}}
{{- define "lifeboat.platform.serviceAccount" -}}
{{- $root := index . 0 -}}
{{- $job := index . 1 -}}
{{- if or (not $root.Values.rbac.create) (and (eq $root.Values.mode "agent") (ne $job "restore")) -}}
{{- include "lifeboat.serviceAccountName" $root -}}
{{- else if eq $job "backup" -}}
{{- include "lifeboat.componentName" (list $root "platform-config") -}}
{{- else -}}
{{- include "lifeboat.componentName" (list $root (printf "platform-config-%s" $job)) -}}
{{- end -}}
{{- end -}}

{{- define "lifeboat.config.platformSource" -}}
{{- $root := . -}}
{{- $p := .Values.platformConfig -}}
{{- $k := dict -}}
{{- with $p.namespaces }}{{ $_ := set $k "namespaces" . }}{{ end -}}
{{- with $p.namespaceSelector }}{{ $_ := set $k "namespaceSelector" . }}{{ end -}}
{{- with $p.resources }}{{ $_ := set $k "resources" . }}{{ end -}}
{{- /* Always written, [] included: left out, lifeboat would default to [argoproj.io]
       while the chart granted nothing for it. */ -}}
{{- $_ := set $k "groups" ($p.groups | default list) -}}
{{- with $p.clusterResources }}{{ $_ := set $k "clusterResources" . }}{{ end -}}
{{- with $p.exclude }}{{ $_ := set $k "exclude" . }}{{ end -}}
{{- if $p.noDefaultExcludes }}{{ $_ := set $k "noDefaultExcludes" true }}{{ end -}}
{{- $src := dict "name" $p.sourceName "kind" "kubernetes" -}}
{{- if $p.backup.enabled -}}
{{- $_ := set $src "schedule" $p.backup.schedule -}}
{{- with $p.backup.jitter }}{{ $_ := set $src "jitter" . }}{{ end -}}
{{- end -}}
{{- with $p.backup.destinations }}{{ $_ := set $src "destinations" . }}{{ end -}}
{{- $_ := set $src "kubernetes" $k -}}
{{- if $p.drill.enabled -}}
{{- $drill := dict -}}
{{- if include "lifeboat.agentDrills" $root }}{{ $_ := set $drill "schedule" $p.drill.schedule }}{{ end -}}
{{- $_ := set $src "drill" $drill -}}
{{- end -}}
{{- toJson $src -}}
{{- end -}}

{{/* One RBAC rule per resource id (resource[.group]): (list ids verbs [resourceNames]). */}}
{{- define "lifeboat.platform.rules" -}}
{{- $ids := index . 0 -}}
{{- $verbs := index . 1 -}}
{{- $names := list -}}
{{- if gt (len .) 2 }}{{ $names = index . 2 }}{{ end -}}
{{- $out := list -}}
{{- range $ids -}}
{{- $parts := splitn "." 2 . -}}
{{- $rule := dict "apiGroups" (list ($parts._1 | default "")) "resources" (list $parts._0) "verbs" $verbs -}}
{{- with $names }}{{ $_ := set $rule "resourceNames" . }}{{ end -}}
{{- $out = append $out $rule -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* RBAC objects whose RBAC lifeboat applies need escalate (Roles granting what the
     applier lacks) and bind (bindings to roles it does not hold). */}}
{{- define "lifeboat.platform.rbacWriteRules" -}}
{{- $ids := index . 0 -}}
{{- $clusterRoles := index . 1 -}}
{{- $out := list -}}
{{- $rbac := false -}}
{{- range $ids }}{{ if hasSuffix ".rbac.authorization.k8s.io" . }}{{ $rbac = true }}{{ end }}{{ end -}}
{{- if $rbac -}}
{{- $res := list "roles" -}}
{{- if $clusterRoles }}{{ $res = append $res "clusterroles" }}{{ end -}}
{{- $out = append $out (dict "apiGroups" (list "rbac.authorization.k8s.io") "resources" $res "verbs" (list "bind" "escalate")) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Discovery: lifeboat finds resources through it (granted to every authenticated user
     by default; named here so a cluster without that default still works). */}}
{{- define "lifeboat.platform.discoveryRule" -}}
{{- toJson (dict "nonResourceURLs" (list "/api" "/api/*" "/apis" "/apis/*" "/version") "verbs" (list "get")) -}}
{{- end -}}

{{/* The rules of one job: (list $root "read"|"restore"|"drill") → {cluster, namespaced}.
     Namespaced rules go into a Role per namespace when namespaces are named, into the
     ClusterRole with a selector. */}}
{{- define "lifeboat.platform.rbac" -}}
{{- $root := index . 0 -}}
{{- $mode := index . 1 -}}
{{- $p := $root.Values.platformConfig -}}
{{- $resources := include "lifeboat.platform.resources" $root | fromJsonArray -}}
{{- $groups := $p.groups | default list -}}
{{- $verbs := list "get" "create" "patch" -}}
{{- if eq $mode "read" }}{{ $verbs = list "list" }}{{ end -}}
{{- $ns := list -}}
{{- $ns = concat $ns (include "lifeboat.platform.rules" (list $resources $verbs) | fromJsonArray) -}}
{{- range $groups -}}
{{- $ns = append $ns (dict "apiGroups" (list .) "resources" (list "*") "verbs" $verbs) -}}
{{- end -}}
{{- $crs := list -}}
{{- range $p.clusterResources }}{{ $crs = append $crs .resource }}{{ end -}}
{{- if ne $mode "read" -}}
{{- /* A RoleBinding may refer to a ClusterRole: bind on clusterroles, in the namespace. */ -}}
{{- $ns = concat $ns (include "lifeboat.platform.rbacWriteRules" (list (concat $resources $crs) true) | fromJsonArray) -}}
{{- end -}}
{{- $cl := list (include "lifeboat.platform.discoveryRule" $root | fromJson) -}}
{{- if eq $mode "read" -}}
{{- if $p.namespaces -}}
{{- $cl = append $cl (dict "apiGroups" (list "") "resources" (list "namespaces") "resourceNames" $p.namespaces "verbs" (list "get")) -}}
{{- else -}}
{{- $cl = append $cl (dict "apiGroups" (list "") "resources" (list "namespaces") "verbs" (list "list")) -}}
{{- end -}}
{{- else -}}
{{- if eq $mode "drill" -}}
{{- $cl = append $cl (dict "apiGroups" (list "") "resources" (list "namespaces") "verbs" (list "create" "delete")) -}}
{{- else -}}
{{- $cl = append $cl (dict "apiGroups" (list "") "resources" (list "namespaces") "verbs" (list "create")) -}}
{{- $targets := list -}}
{{- $nsMap := $p.restore.namespaceMap | default dict -}}
{{- range $p.namespaces }}{{ $targets = append $targets (hasKey $nsMap . | ternary (get $nsMap .) .) }}{{ end -}}
{{- if $targets -}}
{{- $cl = append $cl (dict "apiGroups" (list "") "resources" (list "namespaces") "resourceNames" ($targets | uniq) "verbs" (list "get" "patch")) -}}
{{- else -}}
{{- $cl = append $cl (dict "apiGroups" (list "") "resources" (list "namespaces") "verbs" (list "get" "patch")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $groups -}}
{{- $cl = concat $cl (include "lifeboat.platform.rules" (list (list "customresourcedefinitions.apiextensions.k8s.io") $verbs) | fromJsonArray) -}}
{{- $cl = concat $cl (include "lifeboat.platform.rules" (list $p.groupClusterResources $verbs) | fromJsonArray) -}}
{{- end -}}
{{- range $p.clusterResources -}}
{{- if eq $mode "read" -}}
{{- $cl = concat $cl (include "lifeboat.platform.rules" (list (list .resource) (list "get") .names) | fromJsonArray) -}}
{{- else -}}
{{- $cl = concat $cl (include "lifeboat.platform.rules" (list (list .resource) (list "get" "patch") .names) | fromJsonArray) -}}
{{- $cl = concat $cl (include "lifeboat.platform.rules" (list (list .resource) (list "create")) | fromJsonArray) -}}
{{- end -}}
{{- end -}}
{{- if ne $mode "read" -}}
{{- $cl = concat $cl (include "lifeboat.platform.rbacWriteRules" (list $crs true) | fromJsonArray) -}}
{{- end -}}
{{- toJson (dict "cluster" $cl "namespaced" $ns) -}}
{{- end -}}
