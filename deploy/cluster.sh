#!/usr/bin/env bash
# A whole sharelog deployment on one machine, for trying and testing scale-out:
# PostgreSQL primary + hot standby (streaming, synchronous), three `sharelog serve`
# processes, HAProxy in front health-checking /readyz.
#
#   deploy/cluster.sh run  [DIR]   start, print the URLs, stay until Ctrl-C, clean up
#   deploy/cluster.sh up   [DIR]   start in the background (DIR/env says where things are)
#   deploy/cluster.sh down [DIR]   stop everything started in DIR and remove DIR
#   deploy/cluster.sh failover [DIR]   SIGKILL the primary, promote the standby
#
# `up` first takes down whatever an earlier run left in DIR, so it can be run again.
# Ports: CLUSTER_BASE (default 17000) is HAProxy (+10: HAProxy to the first process
# only, for benchmarks); +1..+3 the API processes;
# +432 the primary, +433 the standby. CLUSTER_APIS (default 3) API processes.
# Every SHARELOG_* variable in the environment reaches the API processes.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ACTION="${1:-run}"
DIR="${2:-${CLUSTER_DIR:-/tmp/sharelog-cluster}}"
BASE="${CLUSTER_BASE:-17000}"
APIS="${CLUSTER_APIS:-3}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
SHARELOG="${SHARELOG:-$ROOT/.venv/bin/sharelog}"
case "$DIR" in
  /* ) [ "$DIR" != / ] || { echo "cluster: refusing / as the directory" >&2; exit 2; } ;;
  * ) echo "cluster: the directory must be an absolute path: $DIR" >&2; exit 2 ;;
esac
PRIMARY_PORT=$((BASE + 432))
STANDBY_PORT=$((BASE + 433))

log() { echo "cluster: $*" >&2; }

# We run as root; PostgreSQL refuses to, so its commands run as `postgres`.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ensure_installed() {
  local missing=()
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  [ -x "$PGBIN/pg_ctl" ] || missing+=(postgresql-15)
  command -v redis-server >/dev/null 2>&1 || command -v redis-cli >/dev/null 2>&1 \
    || missing+=(redis-server)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The Debian package starts its own HAProxy where systemd runs; ours is separate.
  [ -x "$SHARELOG" ] || { log "no $SHARELOG: run make first"; exit 1; }
}

stop_pid_file() {
  local file="$1"
  [ -f "$file" ] || return 0
  local pid
  pid="$(head -n 1 "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  [ -d "$DIR" ] || return 0
  for file in "$DIR"/api*.pid "$DIR"/haproxy.pid "$DIR"/redis.pid; do
    [ -e "$file" ] && stop_pid_file "$file"
  done
  for node in primary standby; do
    if [ -f "$DIR/$node/postmaster.pid" ]; then
      as_postgres "$PGBIN/pg_ctl" -D "$DIR/$node" -m immediate -w stop >/dev/null 2>&1 \
        || stop_pid_file "$DIR/$node/postmaster.pid"
    fi
  done
  rm -rf "$DIR"
}

wait_for() {  # seconds, description, command...
  local seconds="$1" what="$2"
  shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "gave up waiting for $what"
  return 1
}

psql_on() {  # port, sql
  as_postgres "$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

standby_is_sync() {
  [ "$(psql_on "$PRIMARY_PORT" "SELECT sync_state FROM pg_stat_replication")" = sync ]
}

start_postgres() {
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  mkdir -p "$DIR/primary" "$DIR/standby" "$DIR/run"
  chown postgres: "$DIR/primary" "$DIR/standby" "$DIR/run"
  chmod 700 "$DIR/primary" "$DIR/standby"
  touch "$DIR/primary.log" "$DIR/standby.log"
  chown postgres: "$DIR/primary.log" "$DIR/standby.log"
  as_postgres "$PGBIN/initdb" -D "$DIR/primary" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$DIR/initdb.log"
  # Settings common to both nodes; pg_basebackup copies this file to the standby.
  cat >>"$DIR/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/run'
max_connections = 300
wal_level = replica
max_wal_senders = 5
hot_standby = on
hot_standby_feedback = on
wal_keep_size = 256MB
# The standby learns the primary's name from this (application_name in pg_stat_replication).
cluster_name = 'sharelog'
EOF
  as_postgres "$PGBIN/pg_ctl" -D "$DIR/primary" -o "-p $PRIMARY_PORT" \
    -l "$DIR/primary.log" -w start >/dev/null
  psql_on "$PRIMARY_PORT" "CREATE DATABASE sharelog"
  # -R writes primary_conninfo and standby.signal: a streaming standby.
  as_postgres "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$DIR/standby" -R -X stream -c fast
  as_postgres "$PGBIN/pg_ctl" -D "$DIR/standby" -o "-p $STANDBY_PORT" \
    -l "$DIR/standby.log" -w start >/dev/null
  # Synchronous: a commit is acknowledged once the standby has it on disk, so a
  # failover loses no acknowledged write. Set on the primary only (after the
  # base backup): the standby, once promoted, must not wait for a standby of its own.
  psql_on "$PRIMARY_PORT" "ALTER SYSTEM SET synchronous_standby_names = '*'"
  psql_on "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null
  wait_for 30 "the synchronous standby" standby_is_sync
}

redis_url() {
  if [ -n "${SHARELOG_REDIS_URL:-}" ]; then echo "$SHARELOG_REDIS_URL"; return; fi
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "redis://127.0.0.1:6379/0"
    return
  fi
  # No Redis on the machine: one of our own, gone with the cluster.
  local port=$((BASE + 379))
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" >/dev/null
  wait_for 10 "redis" redis-cli -p "$port" ping
  echo "redis://127.0.0.1:$port/0"
}

start_apis() {
  local database_url="postgresql://postgres@/sharelog?host=127.0.0.1:$PRIMARY_PORT&host=127.0.0.1:$STANDBY_PORT&target_session_attrs=read-write&connect_timeout=2"
  local replica_url="postgresql://postgres@127.0.0.1:$STANDBY_PORT/sharelog?connect_timeout=2"
  local secret="${SHARELOG_SECRET_KEY:-$(head -c 32 /dev/urandom | base64 | tr -d '=+/')}"
  local redis
  redis="$(redis_url)"
  # The first applies the migrations; the others find nothing left to do.
  "$SHARELOG" db upgrade --database-url "$database_url" >"$DIR/upgrade.log" 2>&1
  for i in $(seq 1 "$APIS"); do
    SHARELOG_DATABASE_URL="$database_url" SHARELOG_REPLICA_URLS="$replica_url" \
      SHARELOG_REDIS_URL="$redis" SHARELOG_SECRET_KEY="$secret" \
      SHARELOG_TRUSTED_PROXIES="127.0.0.1/32" \
      setsid "$SHARELOG" serve --host 127.0.0.1 --port $((BASE + i)) \
      >"$DIR/api$i.log" 2>&1 </dev/null &
    echo $! >"$DIR/api$i.pid"
  done
  for i in $(seq 1 "$APIS"); do
    wait_for 60 "API process $i" curl -fsS "http://127.0.0.1:$((BASE + i))/readyz"
  done
  # Shell syntax (quoted: the URLs hold '&'), read by `. DIR/env` and by the tests.
  cat >"$DIR/env" <<EOF
CLUSTER_URL='http://127.0.0.1:$BASE'
CLUSTER_SINGLE_URL='http://127.0.0.1:$((BASE + 10))'
CLUSTER_DIR='$DIR'
CLUSTER_APIS='$APIS'
PRIMARY_PORT='$PRIMARY_PORT'
STANDBY_PORT='$STANDBY_PORT'
SHARELOG_DATABASE_URL='$database_url'
SHARELOG_REPLICA_URLS='$replica_url'
SHARELOG_REDIS_URL='$redis'
SHARELOG_SECRET_KEY='$secret'
EOF
}

start_haproxy() {
  {
    cat <<EOF
global
  maxconn 4096
  pidfile $DIR/haproxy.pid
defaults
  mode http
  timeout connect 2s
  timeout client 70s
  timeout server 70s
  retries 2
  option redispatch
  # The contract's 503 body when no process is ready (a failover in progress).
  errorfile 503 $ROOT/deploy/haproxy-503.http
frontend api
  bind 127.0.0.1:$BASE
  option forwardfor
  default_backend sharelog
backend sharelog
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 1
EOF
    for i in $(seq 1 "$APIS"); do
      echo "  server api$i 127.0.0.1:$((BASE + i)) check"
    done
    # The same balancer in front of the first process only (port +10): the
    # benchmarks compare one process with all of them on one deployment.
    cat <<EOF
frontend single
  bind 127.0.0.1:$((BASE + 10))
  option forwardfor
  default_backend single
backend single
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 1
  server api1 127.0.0.1:$((BASE + 1)) check
EOF
  } >"$DIR/haproxy.cfg"
  haproxy -c -q -f "$DIR/haproxy.cfg"
  haproxy -D -f "$DIR/haproxy.cfg"
  wait_for 20 "HAProxy" curl -fsS "http://127.0.0.1:$BASE/readyz"
}

up() {
  ensure_installed
  down
  # A half-started cluster is no use to anybody: take it down again.
  trap 'log "failed; cleaning up"; tail -n 5 "$DIR"/*.log >&2 || true; down' ERR
  start_postgres
  start_apis
  start_haproxy
  trap - ERR
  log "ready: $(head -n 1 "$DIR/env") (settings in $DIR/env)"
}

failover() {
  local started pid
  started="$(date +%s.%N)"
  pid="$(head -n 1 "$DIR/primary/postmaster.pid")"
  kill -9 "$pid"
  as_postgres "$PGBIN/pg_ctl" -D "$DIR/standby" -w promote >/dev/null
  log "primary $pid killed, standby promoted in $(awk "BEGIN { print $(date +%s.%N) - $started }") s"
}

case "$ACTION" in
  up) up ;;
  down) down ;;
  failover) failover ;;
  run)
    trap down EXIT
    trap 'exit 130' INT TERM
    up
    cat "$DIR/env"
    log "Ctrl-C stops and removes everything"
    # `wait` returns on a signal at once (a foreground sleep would hold the trap back).
    while true; do sleep 3600 & wait $!; done
    ;;
  *) echo "usage: $0 run|up|down|failover [DIR]" >&2; exit 2 ;;
esac
