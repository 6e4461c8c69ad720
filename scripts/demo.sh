#!/usr/bin/env bash
# The README's demo: on a fresh machine, install what is needed, start a local raft OpenBao
# and MinIO, write secrets, back them up to a local directory and MinIO, wipe the Vault,
# restore it, and show the secrets back. Every step prints what it runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEMO="$ROOT/demo-data"
BIN="$ROOT/.tools/bin"
export PATH="$BIN:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1; }
wait_http() { for _ in $(seq 1 120); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.5; done; echo "timed out waiting for $1" >&2; return 1; }
# json_keys FILE: the unseal_keys_b64 array of `bao operator init -format=json`, one per line.
json_keys() { awk '/"unseal_keys_b64"/{f=1;next} f&&/\]/{f=0} f{gsub(/[",[:space:]]/,""); if($0!="")print}' "$1"; }
json_field() { sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p" "$1" | head -1; }

step "install OpenBao and MinIO (built once from the Go module proxy, cached in .tools/) and PostgreSQL 15 (Debian)"
scripts/install-servers.sh openbao minio postgres
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

step "build lifeboat"
show go build -o "$BIN/lifeboat" ./cmd/lifeboat

rm -rf "$DEMO" && mkdir -p "$DEMO/raft" "$DEMO/minio"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

VAULT_PORT=$(free_port); CLUSTER_PORT=$(free_port); MINIO_PORT=$(free_port)
export BAO_ADDR="http://127.0.0.1:$VAULT_PORT"
cat >"$DEMO/openbao.hcl" <<HCL
disable_mlock = true
api_addr      = "$BAO_ADDR"
cluster_addr  = "https://127.0.0.1:$CLUSTER_PORT"
storage "raft" {
  path    = "$DEMO/raft"
  node_id = "demo-0"
}
listener "tcp" {
  address         = "127.0.0.1:$VAULT_PORT"
  cluster_address = "127.0.0.1:$CLUSTER_PORT"
  tls_disable     = true
}
HCL

start_vault() {
  openbao server -config "$DEMO/openbao.hcl" >>"$DEMO/openbao.log" 2>&1 &
  PIDS+=($!)
  VAULT_PID=$!
  wait_http "$BAO_ADDR/v1/sys/seal-status"
}
init_and_unseal() { # init_and_unseal OUT.json
  openbao operator init -key-shares=3 -key-threshold=2 -format=json >"$1"
  for k in $(json_keys "$1" | head -2); do openbao operator unseal "$k" >/dev/null; done
  for _ in $(seq 1 60); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "$BAO_ADDR/v1/sys/health")" == 200 ]] && return 0
    sleep 0.5
  done
  echo "OpenBao did not become active; see $DEMO/openbao.log" >&2; return 1
}

step "start a raft OpenBao server at $BAO_ADDR, initialise (3 key shares) and unseal it"
start_vault
init_and_unseal "$DEMO/init-original.json"
export BAO_TOKEN; BAO_TOKEN="$(json_field "$DEMO/init-original.json" root_token)"
json_keys "$DEMO/init-original.json" >"$DEMO/original-unseal-keys"
printf '%s\n' "$BAO_TOKEN" >"$DEMO/original-root-token"
chmod 600 "$DEMO"/original-*
echo "unseal keys and root token kept in $DEMO/ (in production: outside the Vault and outside the backups)"

step "start MinIO at 127.0.0.1:$MINIO_PORT and create the bucket 'backups'"
export LIFEBOAT_DEMO_S3_KEY=lifeboat-demo LIFEBOAT_DEMO_S3_SECRET=lifeboat-demo-secret
MINIO_ROOT_USER=$LIFEBOAT_DEMO_S3_KEY MINIO_ROOT_PASSWORD=$LIFEBOAT_DEMO_S3_SECRET MINIO_BROWSER=off \
  minio server --quiet --address "127.0.0.1:$MINIO_PORT" "$DEMO/minio" >"$DEMO/minio.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$MINIO_PORT/minio/health/ready"
curl -fsS -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$LIFEBOAT_DEMO_S3_KEY:$LIFEBOAT_DEMO_S3_SECRET" "http://127.0.0.1:$MINIO_PORT/backups"

PG_PORT=$(free_port)
PGBIN=/usr/lib/postgresql/15/bin
step "start PostgreSQL 15 at 127.0.0.1:$PG_PORT with an Argo-like workflow metadata database"
mkdir -p "$DEMO/pg"
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  # PostgreSQL refuses to run as root.
  chown postgres "$DEMO/pg"; chmod 755 "$DEMO"
  as_pg=(runuser -u postgres --)
fi
printf 'lifeboat-demo-pg\n' >"$DEMO/pg-password"; chmod 644 "$DEMO/pg-password"
"${as_pg[@]}" "$PGBIN/initdb" -D "$DEMO/pg/data" -U postgres --pwfile="$DEMO/pg-password" --auth-host=scram-sha-256 --auth-local=trust >"$DEMO/pg-init.log"
chmod 600 "$DEMO/pg-password"
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DEMO/pg/data" -l "$DEMO/pg/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $DEMO/pg" start >/dev/null
PIDS+=("$(head -1 "$DEMO/pg/data/postmaster.pid")")
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD=lifeboat-demo-pg
psql_q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c 'CREATE DATABASE argo'
psql_q -d argo <<'SQL'
CREATE TABLE schema_history (schema_version int NOT NULL);
INSERT INTO schema_history SELECT generate_series(0, 17);
CREATE TABLE argo_archived_workflows (
  uid varchar(128) NOT NULL, name varchar(256) NOT NULL, phase varchar(25) NOT NULL,
  namespace varchar(256) NOT NULL, workflow json NOT NULL, startedat timestamp NOT NULL,
  finishedat timestamp NOT NULL, clustername varchar(64) NOT NULL, instanceid varchar(64) NOT NULL,
  PRIMARY KEY (clustername, uid));
CREATE TABLE argo_archived_workflows_labels (
  clustername varchar(64) NOT NULL, uid varchar(128) NOT NULL, name varchar(317) NOT NULL,
  value varchar(63) NOT NULL, PRIMARY KEY (clustername, uid, name),
  FOREIGN KEY (clustername, uid) REFERENCES argo_archived_workflows (clustername, uid) ON DELETE CASCADE);
INSERT INTO argo_archived_workflows
SELECT md5('wf' || i)::uuid::text, 'nightly-etl-' || i, (ARRAY['Succeeded','Failed'])[1 + i % 2], 'data',
  json_build_object('metadata', json_build_object('name', 'nightly-etl-' || i, 'namespace', 'data'),
    'spec', json_build_object('entrypoint', 'main'), 'status', json_build_object('phase', (ARRAY['Succeeded','Failed'])[1 + i % 2])),
  now() - i * interval '1 hour', now() - i * interval '1 hour' + interval '5 minutes', 'default', ''
FROM generate_series(1, 2000) i;
INSERT INTO argo_archived_workflows_labels
SELECT 'default', uid, 'workflows.argoproj.io/completed', 'true' FROM argo_archived_workflows;
SQL
counts() { psql_q -d argo -At -c "SELECT 'archived workflows: ' || (SELECT count(*) FROM argo_archived_workflows) || ', labels: ' || (SELECT count(*) FROM argo_archived_workflows_labels) || ', schema step: ' || (SELECT max(schema_version) FROM schema_history)"; }
counts

step "write secrets, a policy and an auth mount"
show openbao secrets enable -path=secret kv-v2
show openbao kv put secret/payments/db username=payments password=correct-horse-battery-staple
show openbao kv put secret/ci/deploy-key key=ssh-ed25519-AAAAdemo
printf 'path "secret/data/payments/*" { capabilities = ["read"] }\n' | show openbao policy write payments-read -
show openbao auth enable approle

step "write the lifeboat config: Vault and the workflow database as sources, a local directory and MinIO as destinations"
cat >"$DEMO/lifeboat.yaml" <<YAML
sources:
  - name: vault
    kind: vault
    vault:
      address: $BAO_ADDR
      auth:
        token: {file: $DEMO/original-root-token}
  - name: workflows
    kind: postgres
    postgres:
      host: 127.0.0.1
      port: $PG_PORT
      database: argo
      user: postgres
      password: {file: $DEMO/pg-password}
      sslMode: disable
      binDir: $PGBIN
destinations:
  - name: local
    kind: file
    file: {path: $DEMO/backups}
    retention: {keepLast: 7}
  - name: minio
    kind: s3
    prefix: lifeboat
    s3:
      endpoint: http://127.0.0.1:$MINIO_PORT
      bucket: backups
      pathStyle: true
      accessKeyID: {env: LIFEBOAT_DEMO_S3_KEY}
      secretAccessKey: {env: LIFEBOAT_DEMO_S3_SECRET}
    retention: {keepLast: 30, keepDaily: 14}
YAML
cat "$DEMO/lifeboat.yaml"
export LIFEBOAT_CONFIG="$DEMO/lifeboat.yaml" LIFEBOAT_LOG_FORMAT=text

step "back up: one snapshot read from the raft leader, streamed to both destinations"
show lifeboat backup vault
show lifeboat list
show lifeboat verify latest --source vault

step "disaster: stop OpenBao and delete its raft data"
kill "$VAULT_PID"; wait "$VAULT_PID" 2>/dev/null || true
show rm -rf "$DEMO/raft"; mkdir -p "$DEMO/raft"
start_vault
show openbao status || true

step "reinstall: initialise a fresh, empty cluster (new keys, new root token)"
init_and_unseal "$DEMO/init-new.json"
json_field "$DEMO/init-new.json" root_token >"$DEMO/new-root-token"
# The fresh cluster has no secrets engine at secret/ yet: say so in words rather than
# printing OpenBao's raw "Error making API request" block, which reads like a failure.
if BAO_TOKEN="$(cat "$DEMO/new-root-token")" openbao kv get secret/payments/db >/dev/null 2>&1; then
  echo "unexpected: the fresh cluster already has secret/payments/db" >&2
  exit 1
fi
echo "    the fresh cluster is empty: secret/payments/db is gone (as expected before the restore)"

step "restore the latest backup (--force: the snapshot is from the old cluster) and unseal with the ORIGINAL keys"
show lifeboat restore vault --snapshot latest --force --token-file "$DEMO/new-root-token" --unseal-keys-file "$DEMO/original-unseal-keys"

step "the secrets are back (read with the original root token)"
show openbao kv get secret/payments/db
show openbao kv get -field=key secret/ci/deploy-key; echo
show openbao policy read payments-read
show openbao auth list

step "back up the workflow metadata database (pg_dump streamed through zstd to both destinations)"
show lifeboat backup workflows
show lifeboat verify latest --source workflows

step "disaster: drop the workflow database"
show psql_q -d postgres -c 'DROP DATABASE argo'

step "restore it (the database is recreated; row counts are checked against the backup)"
show lifeboat restore workflows --dump latest
counts

step "done"
echo "backups in the local directory: $DEMO/backups/{vault,workflows}/"
find "$DEMO/backups" -type f | sort | sed 's/^/  /'
echo "backups in MinIO: s3://backups/lifeboat/{vault,workflows}/ at http://127.0.0.1:$MINIO_PORT (stopped now; data in $DEMO/minio)"
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DEMO/pg/data" -m fast -w stop >/dev/null
echo "the servers stop now; everything the demo made is in $DEMO/"
