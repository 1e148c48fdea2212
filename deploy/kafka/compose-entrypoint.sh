#!/usr/bin/env bash
# The kafka service's entrypoint in docker-compose.yml: mounted read-only into the official
# apache/kafka image and run instead of the image's own /etc/kafka/docker/run.
#
# Why not the image's entrypoint: it renders server.properties from KAFKA_* variables too, but
# formats the storage with `kafka-storage.sh format --cluster-id … -c …` and nothing more, so
# a broker that takes SASL/SCRAM only would start with no SCRAM credential and nobody could
# log in. In KRaft the first credential enters the metadata when the storage is formatted
# (`--add-scram`, KIP-900); this script does that for the admin, concord-admin, the way
# deploy/kafka/kafka.sh does for `make run`.
#
# On every start it
#   1. checks KAFKA_ADMIN_PASSWORD: set, 32+ characters, and only characters that neither the
#      JAAS line nor the --add-scram syntax must escape (`token_urlsafe` gives such values);
#   2. renders $config_dir/server.properties from every KAFKA_* variable, named as the
#      official image names them (KAFKA_LOG_DIRS is log.dirs; `__` is `_`, `___` is `-`),
#      then the JAAS lines of the two listeners built from the admin's password: SCRAM on the
#      client listener, PLAIN on the controller listener (KRaft controllers cannot check
#      SCRAM: the credentials live in the metadata they serve). Mode 0600: it holds the
#      password;
#   3. writes $config_dir/admin.properties (0600), the admin's client configuration that the
#      healthcheck authenticates with;
#   4. formats the storage on first start only (log.dirs has no meta.properties yet), with
#      the admin's SCRAM credential and CLUSTER_ID (a random one when unset); a storage this
#      script did not format (the image's own entrypoint, say) has no such credential and is
#      refused, with what to do;
#   5. execs the broker.
# Everything else (topics, the services' credentials, the ACLs) the prestart step provisions
# as the admin once the broker is healthy.
#
# KAFKA_ADMIN_PASSWORD is fixed at the first start: the SCRAM credential was set when the
# storage was formatted, so changing the variable alone locks the admin out. Rotate it as the
# admin first (kafka-configs.sh --command-config $config_dir/admin.properties --alter
# --entity-type users --entity-name concord-admin --add-config 'SCRAM-SHA-512=[password=…]'),
# then change the variable and restart.
set -euo pipefail

admin_user="concord-admin"
config_dir="/opt/kafka/config/concord"
kafka_bin="/opt/kafka/bin"
formatted_marker="concord-scram.formatted"

# KAFKA_* variables that are not broker properties: the launcher's own (as the official image
# excludes them) and the admin's password, which only enters the JAAS lines.
not_properties=" KAFKA_ADMIN_PASSWORD KAFKA_NGO_TLS_DIR KAFKA_VERSION KAFKA_HEAP_OPTS KAFKA_LOG4J_OPTS KAFKA_OPTS \
KAFKA_JMX_OPTS KAFKA_JMX_PORT KAFKA_JMX_HOSTNAME KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS \
KAFKA_DEBUG KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL "

log() { echo "kafka-entrypoint: $*" >&2; }

check_admin_password() {
  local password="${KAFKA_ADMIN_PASSWORD:-}"
  if [ -z "$password" ]; then
    log "KAFKA_ADMIN_PASSWORD is not set"
    return 1
  fi
  if [ "${#password}" -lt 32 ]; then
    log "KAFKA_ADMIN_PASSWORD is ${#password} characters long; it needs at least 32" \
      "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    return 1
  fi
  if [[ ! "$password" =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
    log "KAFKA_ADMIN_PASSWORD may hold only letters, digits and . _ ~ + / = -" \
      "(it goes unescaped into the JAAS configuration and kafka-storage's --add-scram)"
    return 1
  fi
}

# KAFKA_LISTENER_SECURITY_PROTOCOL_MAP -> listener.security.protocol.map
property_name() {
  local name="${1#KAFKA_}"
  name="${name,,}"
  name="${name//_/.}"
  name="${name//.../-}"
  echo "${name//../_}"
}

# The NGO listener (SASL_SSL): SCRAM over TLS with the keystore the kafka_tls service made
# (deploy/tls.py) in KAFKA_NGO_TLS_DIR; its password is read from there, never from the
# environment. No client certificate is asked for (SCRAM authenticates the NGO).
ngo_listener_properties() {
  local tls_dir="${KAFKA_NGO_TLS_DIR:-}"
  [ -n "$tls_dir" ] || return 0
  if [ ! -s "$tls_dir/broker.p12" ] || [ ! -s "$tls_dir/broker.password" ]; then
    log "KAFKA_NGO_TLS_DIR=$tls_dir holds no broker.p12/broker.password (the kafka_tls service)"
    return 1
  fi
  local keystore_password; keystore_password="$(cat "$tls_dir/broker.password")"
  echo "listener.name.ngo.sasl.enabled.mechanisms=SCRAM-SHA-512"
  echo "listener.name.ngo.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
  echo "listener.name.ngo.ssl.keystore.type=PKCS12"
  echo "listener.name.ngo.ssl.keystore.location=$tls_dir/broker.p12"
  echo "listener.name.ngo.ssl.keystore.password=$keystore_password"
  echo "listener.name.ngo.ssl.key.password=$keystore_password"
  echo "listener.name.ngo.ssl.client.auth=none"
  echo "listener.name.ngo.ssl.enabled.protocols=TLSv1.3,TLSv1.2"
}

render_config() {
  local dir="$1" variable
  (
    umask 077
    mkdir -p "$dir"
    {
      echo "# Rendered by deploy/kafka/compose-entrypoint.sh from the kafka service's environment."
      for variable in $(compgen -e | sort); do
        [[ "$variable" == KAFKA_* ]] || continue
        [[ "$not_properties" == *" $variable "* ]] && continue
        echo "$(property_name "$variable")=${!variable}"
      done
      echo "listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$admin_user\" password=\"$KAFKA_ADMIN_PASSWORD\";"
      echo "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$admin_user\" password=\"$KAFKA_ADMIN_PASSWORD\" user_$admin_user=\"$KAFKA_ADMIN_PASSWORD\";"
      ngo_listener_properties
    } > "$dir/server.properties.tmp"
    mv "$dir/server.properties.tmp" "$dir/server.properties"
    {
      echo "security.protocol=SASL_PLAINTEXT"
      echo "sasl.mechanism=SCRAM-SHA-512"
      echo "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$admin_user\" password=\"$KAFKA_ADMIN_PASSWORD\";"
    } > "$dir/admin.properties.tmp"
    mv "$dir/admin.properties.tmp" "$dir/admin.properties"
  )
  chmod 600 "$dir/server.properties" "$dir/admin.properties"
}

format_storage_once() {
  local config="$1" data_dir="${KAFKA_LOG_DIRS:-}"
  if [ -z "$data_dir" ] || [[ "$data_dir" == *,* ]]; then
    log "set KAFKA_LOG_DIRS to the one data directory (the kafka-data volume)"
    return 1
  fi
  if [ ! -f "$data_dir/meta.properties" ]; then
    local cluster_id="${CLUSTER_ID:-}"
    [ -n "$cluster_id" ] || cluster_id="$("$kafka_bin/kafka-storage.sh" random-uuid)"
    log "formatting $data_dir (cluster $cluster_id) with the SCRAM credential of $admin_user"
    # The marker first: a format that fails leaves no meta.properties, so the next start
    # formats again; the marker written after it could be lost to a crash in between.
    touch "$data_dir/$formatted_marker"
    "$kafka_bin/kafka-storage.sh" format --cluster-id "$cluster_id" --config "$config" \
      --add-scram "SCRAM-SHA-512=[name=$admin_user,password=$KAFKA_ADMIN_PASSWORD]" >&2
  elif [ ! -f "$data_dir/$formatted_marker" ]; then
    # The credential enters the metadata at format time only: a storage formatted otherwise
    # has none for the admin, and nobody could log in to it.
    log "$data_dir was formatted without the SCRAM credential of $admin_user (not by this"
    log "entrypoint); remove the volume (its topics are lost) and start again:"
    log "  docker compose rm -sf kafka && docker volume rm concord_kafka-data"
    return 1
  fi
}

main() {
  check_admin_password
  render_config "$config_dir"
  format_storage_once "$config_dir/server.properties"
  exec "$kafka_bin/kafka-server-start.sh" "$config_dir/server.properties"
}

# Sourced (tests/platform/test_compose.py renders a configuration with it), it only defines:
# `return` succeeds only in a sourced file.
if ! (return 0 2>/dev/null); then
  main "$@"
fi
