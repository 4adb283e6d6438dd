#!/usr/bin/env bash
# Strait's test bed: two real Apache Kafka clusters (`source`, `target`), secured as the seed's
# clusters are (TLS + SASL/PLAIN, SCRAM beside it) and with a mutual-TLS listener (client
# certificates), plus the real MirrorMaker 2 on demand.
#
#   testbed/kafka.sh fetch            resolve the Kafka jars from Maven Central into the cache
#   testbed/kafka.sh up               fetch, make certs, format and start both clusters, wait for them
#   testbed/kafka.sh down             stop exactly the processes `up`/`mm2 start` started (by pid)
#   testbed/kafka.sh status           say what runs
#   testbed/kafka.sh reset            down, then wipe both clusters' data (certs and passwords kept)
#   testbed/kafka.sh env              print the env file (addresses, users, trust- and keystores)
#   testbed/kafka.sh mm2 start FILE [NAME]   run the real MM2 (dedicated mode) with mm2.properties FILE
#   testbed/kafka.sh mm2 stop [NAME]         stop it by pid
#   testbed/kafka.sh java CLASS ARGS...      run a class from the Kafka jars (perf tools, ...)
#
# Everything it writes lives in testbed/run/ (override with STRAIT_TESTBED_RUN); jars and Maven's
# repository live outside the clone, in $STRAIT_CACHE (default ~/.cache/strait).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
CACHE=${STRAIT_CACHE:-$HOME/.cache/strait}
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
RUN=${STRAIT_TESTBED_RUN:-$HERE/run}
CERTS="$RUN/certs"
ENV_FILE="$RUN/env"
SECRETS_FILE="$RUN/secrets.env"
JAVA=${JAVA:-java}
HEAP=${STRAIT_TESTBED_HEAP:-512m}

# Ports: <base>+0 PLAINTEXT, +1 SASL_SSL, +2 controller, +3 SSL with required client
# certificates (mTLS; the principal is the certificate's subject, User:CN=strait-client).
SOURCE_BASE=${STRAIT_TESTBED_SOURCE_PORT:-19092}
TARGET_BASE=${STRAIT_TESTBED_TARGET_PORT:-29092}
CLUSTERS=(source target)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

base_port() { case "$1" in source) echo "$SOURCE_BASE" ;; target) echo "$TARGET_BASE" ;; esac; }

# ---------------------------------------------------------------------------------------------
# jars

cmd_fetch() {
  if [[ -f "$LIBS/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian package 'maven')"
  log "resolving Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$LIBS" -DincludeScope=runtime >&2
  ls "$LIBS"/kafka_2.13-"$KAFKA_VERSION".jar "$LIBS"/connect-mirror-"$KAFKA_VERSION".jar >/dev/null \
    || die "Maven did not deliver the Kafka $KAFKA_VERSION jars"
  touch "$LIBS/.complete"
}

kjava() { # kjava JAVA_ARGS...: a JVM with the Kafka jars on its class path
  "$JAVA" -cp "$LIBS/*" "$@"
}

write_log4j() { # CONFIG_FILE LOG_FILE: log4j2 config that logs INFO to a rolling file
  cat >"$1" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $2
appender.file.filePattern = $2.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF
}

# ---------------------------------------------------------------------------------------------
# certificates and secrets

rand() { openssl rand -hex 12; }

make_secrets() {
  if [[ ! -f "$SECRETS_FILE" ]]; then
    mkdir -p "$RUN"
    umask 077
    cat >"$SECRETS_FILE" <<EOF
ADMIN_PASSWORD=admin-$(rand)
REPLICATOR_PASSWORD=replicator-$(rand)
KEYSTORE_PASSWORD=keystore-$(rand)
TRUSTSTORE_JKS_PASSWORD=jks-$(rand)
TRUSTSTORE_P12_PASSWORD=p12-$(rand)
CLUSTER_ID_SOURCE=$(kjava kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
CLUSTER_ID_TARGET=$(kjava kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
EOF
    umask 022
  fi
  # Client keystore passwords, added to test beds made before the mTLS listener existed.
  add_secret CLIENT_KEYSTORE_JKS_PASSWORD "client-jks-$(rand)"
  add_secret CLIENT_KEYSTORE_P12_PASSWORD "client-p12-$(rand)"
  add_secret CLIENT_KEY_PASSWORD "client-key-$(rand)"
}

add_secret() { # NAME VALUE: appends NAME=VALUE to the secrets file unless NAME is there
  grep -q "^$1=" "$SECRETS_FILE" && return 0
  printf '%s=%s\n' "$1" "$2" >>"$SECRETS_FILE"
}

make_certs() {
  [[ -f "$CERTS/.complete" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found"
  command -v keytool >/dev/null || die "keytool not found (it ships with the JDK)"
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  rm -rf "$CERTS"
  mkdir -p "$CERTS"
  log "generating a throwaway CA, the broker certificate and client truststores in $CERTS"
  (
    cd "$CERTS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Strait Test Bed CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.crt 2>/dev/null
    openssl pkcs12 -export -in broker.crt -inkey broker.key -certfile ca.crt -name broker \
      -passout "pass:$KEYSTORE_PASSWORD" -out broker.p12
    # Client truststores of the same CA, one per format users bring.
    keytool -importcert -noprompt -alias ca -file ca.crt -storetype JKS \
      -keystore truststore.jks -storepass "$TRUSTSTORE_JKS_PASSWORD" >/dev/null 2>&1
    keytool -importcert -noprompt -alias ca -file ca.crt -storetype PKCS12 \
      -keystore truststore.p12 -storepass "$TRUSTSTORE_P12_PASSWORD" >/dev/null 2>&1
    rm -f broker.csr broker.ext ca.srl
  )
  touch "$CERTS/.complete"
}

# The client certificate of the mTLS listener, signed by the test bed's CA, in every keystore
# format users bring. Its own marker, so test beds made before it get it at their next `up`.
make_client_certs() {
  [[ -f "$CERTS/.client-complete" ]] && return 0
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  log "generating the mTLS client certificate and client keystores in $CERTS"
  (
    cd "$CERTS"
    rm -f client.* client-*
    # OpenSSL 3 writes the key as unencrypted PKCS#8 (BEGIN PRIVATE KEY), what Kafka's PEM
    # keystores read.
    openssl req -newkey rsa:2048 -nodes -subj "/CN=strait-client" \
      -keyout client.key -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out client.crt 2>/dev/null
    cat client.crt ca.crt >client-chain.crt
    # PKCS#12: key, certificate and the CA as its chain, one password (as keytool writes it).
    openssl pkcs12 -export -in client.crt -inkey client.key -certfile ca.crt -name client \
      -passout "pass:$CLIENT_KEYSTORE_P12_PASSWORD" -out client.p12
    # JKS, with a key password other than the store password (ssl.key.password).
    keytool -importkeystore -noprompt -srckeystore client.p12 -srcstoretype PKCS12 \
      -srcstorepass "$CLIENT_KEYSTORE_P12_PASSWORD" -srcalias client -destalias client \
      -destkeystore client.jks -deststoretype JKS -deststorepass "$CLIENT_KEYSTORE_JKS_PASSWORD" \
      -destkeypass "$CLIENT_KEY_PASSWORD" >/dev/null 2>&1
    # PEM keystore file: Kafka requires its key encrypted (PKCS#8, ssl.key.password).
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in client.key -passout "pass:$CLIENT_KEY_PASSWORD" \
      -out client-key.enc.pem
    cat client-key.enc.pem client-chain.crt >client.pem
    rm -f client.csr client.ext client-key.enc.pem ca.srl
  )
  touch "$CERTS/.client-complete"
}

# ---------------------------------------------------------------------------------------------
# brokers

write_broker_config() { # CLUSTER
  local c=$1 base dir
  base=$(base_port "$c")
  dir="$RUN/$c"
  mkdir -p "$dir/data" "$dir/logs"
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  cat >"$dir/server.properties" <<EOF
# Generated by testbed/kafka.sh for the '$c' cluster; rewritten at every 'up'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$((base + 2))
listeners=PLAINTEXT://127.0.0.1:$base,SASL_SSL://127.0.0.1:$((base + 1)),CONTROLLER://127.0.0.1:$((base + 2)),MTLS://127.0.0.1:$((base + 3))
advertised.listeners=PLAINTEXT://127.0.0.1:$base,SASL_SSL://127.0.0.1:$((base + 1)),MTLS://127.0.0.1:$((base + 3))
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT,MTLS:SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.segment.bytes=67108864
log.retention.check.interval.ms=60000

# TLS on the SASL_SSL and MTLS listeners
ssl.keystore.type=PKCS12
ssl.keystore.location=$CERTS/broker.p12
ssl.keystore.password=$KEYSTORE_PASSWORD
ssl.key.password=$KEYSTORE_PASSWORD

# MTLS: clients must present a certificate signed by the test bed's CA; the principal is its
# subject (User:CN=strait-client), allowed by allow.everyone.if.no.acl.found below.
listener.name.mtls.ssl.client.auth=required
listener.name.mtls.ssl.truststore.type=PEM
listener.name.mtls.ssl.truststore.location=$CERTS/ca.crt

# SASL: PLAIN as in the seed, SCRAM beside it
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$ADMIN_PASSWORD" user_admin="$ADMIN_PASSWORD" user_replicator="$REPLICATOR_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;

# ACLs are enforced only where some exist (so ACL sync can be tested); admin and the
# PLAINTEXT/controller principal are super users.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:admin;User:ANONYMOUS
EOF
  write_log4j "$dir/log4j2.properties" "$dir/logs/server.log"
}

format_storage() { # CLUSTER
  local c=$1 dir id
  dir="$RUN/$c"
  [[ -f "$dir/data/meta.properties" ]] && return 0
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  if [[ $c == source ]]; then id=$CLUSTER_ID_SOURCE; else id=$CLUSTER_ID_TARGET; fi
  log "formatting the '$c' cluster ($id)"
  kjava -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
    -t "$id" -c "$dir/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=admin,password=$ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-256=[name=replicator,password=$REPLICATOR_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=replicator,password=$REPLICATOR_PASSWORD]" \
    >"$dir/logs/format.log" 2>&1 || { cat "$dir/logs/format.log" >&2; die "formatting '$c' failed"; }
}

pid_alive() { # PIDFILE
  [[ -f "$1" ]] || return 1
  local pid
  pid=$(cat "$1")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

start_broker() { # CLUSTER
  local c=$1 dir
  dir="$RUN/$c"
  if pid_alive "$dir/pid"; then
    log "'$c' already runs (pid $(cat "$dir/pid")); kept"
    return 0
  fi
  write_broker_config "$c"
  format_storage "$c"
  log "starting the '$c' cluster (ports $(base_port "$c")-$(($(base_port "$c") + 3)))"
  # setsid: the broker gets its own session, so it outlives this script and the caller's signals.
  setsid "$JAVA" -Xms256m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -Dkafka.logs.dir="$dir/logs" -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
}

write_env_file() {
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  local tmp="$ENV_FILE.tmp"
  umask 077
  cat >"$tmp" <<EOF
# Strait test bed, written by testbed/kafka.sh up; removed by down. KEY=VALUE, no quoting.
KAFKA_VERSION=$KAFKA_VERSION
KAFKA_LIBS=$LIBS
SOURCE_BOOTSTRAP_PLAINTEXT=127.0.0.1:$SOURCE_BASE
SOURCE_BOOTSTRAP_SASL_SSL=127.0.0.1:$((SOURCE_BASE + 1))
TARGET_BOOTSTRAP_PLAINTEXT=127.0.0.1:$TARGET_BASE
TARGET_BOOTSTRAP_SASL_SSL=127.0.0.1:$((TARGET_BASE + 1))
SASL_MECHANISMS=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
ADMIN_USER=admin
ADMIN_PASSWORD=$ADMIN_PASSWORD
REPLICATOR_USER=replicator
REPLICATOR_PASSWORD=$REPLICATOR_PASSWORD
TRUSTSTORE_PEM=$CERTS/ca.crt
TRUSTSTORE_JKS=$CERTS/truststore.jks
TRUSTSTORE_JKS_PASSWORD=$TRUSTSTORE_JKS_PASSWORD
TRUSTSTORE_P12=$CERTS/truststore.p12
TRUSTSTORE_P12_PASSWORD=$TRUSTSTORE_P12_PASSWORD
CLIENT_PRINCIPAL=User:CN=strait-client
CLIENT_CERT_PEM=$CERTS/client-chain.crt
CLIENT_KEY_PEM=$CERTS/client.key
KEYSTORE_JKS=$CERTS/client.jks
KEYSTORE_JKS_PASSWORD=$CLIENT_KEYSTORE_JKS_PASSWORD
KEYSTORE_P12=$CERTS/client.p12
KEYSTORE_P12_PASSWORD=$CLIENT_KEYSTORE_P12_PASSWORD
KEYSTORE_PEM=$CERTS/client.pem
CLIENT_KEY_PASSWORD=$CLIENT_KEY_PASSWORD
EOF
  if has_mtls source && has_mtls target; then
    printf 'SOURCE_BOOTSTRAP_MTLS=127.0.0.1:%s\nTARGET_BOOTSTRAP_MTLS=127.0.0.1:%s\n' \
      "$((SOURCE_BASE + 3))" "$((TARGET_BASE + 3))" >>"$tmp"
  else
    log "the clusters run without the mTLS listener (started before it existed): down, then up, to add it"
  fi
  umask 022
  mv "$tmp" "$ENV_FILE"
}

# Waits until every listener of both clusters answers a metadata request (one JVM for all).
wait_ready() {
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  local args=() c base
  for c in "${CLUSTERS[@]}"; do
    base=$(base_port "$c")
    args+=("$c:PLAINTEXT:127.0.0.1:$base" "$c:SASL_SSL:127.0.0.1:$((base + 1))")
    if has_mtls "$c"; then args+=("$c:SSL:127.0.0.1:$((base + 3))"); fi
  done
  STRAIT_PROBE_PASSWORD="$ADMIN_PASSWORD" STRAIT_PROBE_TRUSTSTORE="$CERTS/ca.crt" \
    STRAIT_PROBE_KEYSTORE="$CERTS/client.p12" \
    STRAIT_PROBE_KEYSTORE_PASSWORD="$CLIENT_KEYSTORE_P12_PASSWORD" \
    STRAIT_PROBE_PIDS="$(cat "$RUN/source/pid") $(cat "$RUN/target/pid")" \
    "$JAVA" -Dlog4j2.configurationFile="$HERE/tools/log4j2-quiet.properties" -cp "$LIBS/*" \
    "$HERE/tools/Probe.java" "${STRAIT_TESTBED_UP_TIMEOUT:-90}" "${args[@]}" \
    || { for c in "${CLUSTERS[@]}"; do tail -n 20 "$RUN/$c/logs/server.log" >&2 2>/dev/null || true; done; die "the clusters did not come up"; }
}

# Whether the cluster runs with the mTLS listener: a broker kept running from before it existed
# has none until it is restarted (down, up).
has_mtls() { # CLUSTER
  grep -q '^listeners=.*MTLS://' "$RUN/$1/server.properties" 2>/dev/null
}

cmd_up() {
  local t0=$SECONDS
  cmd_fetch
  make_secrets
  make_certs
  make_client_certs
  for c in "${CLUSTERS[@]}"; do start_broker "$c"; done
  wait_ready
  write_env_file
  log "up in $((SECONDS - t0)) s; env file: $ENV_FILE"
}

stop_pidfile() { # PIDFILE WHAT
  local f=$1 what=$2 pid i
  if ! pid_alive "$f"; then rm -f "$f"; return 0; fi
  pid=$(cat "$f")
  log "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$what (pid $pid) did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$f"
}

cmd_down() {
  local f
  for f in "$RUN"/mm2/*.pid; do
    [[ -e $f ]] && stop_pidfile "$f" "MirrorMaker 2 '$(basename "$f" .pid)'"
  done
  for c in "${CLUSTERS[@]}"; do stop_pidfile "$RUN/$c/pid" "the '$c' cluster"; done
  rm -f "$ENV_FILE"
}

cmd_status() {
  local c f any=0
  for c in "${CLUSTERS[@]}"; do
    local base
    base=$(base_port "$c")
    if pid_alive "$RUN/$c/pid"; then
      echo "$c: running (pid $(cat "$RUN/$c/pid")), PLAINTEXT 127.0.0.1:$base, SASL_SSL 127.0.0.1:$((base + 1)), mTLS 127.0.0.1:$((base + 3))"
      any=1
    else
      echo "$c: stopped"
    fi
  done
  for f in "$RUN"/mm2/*.pid; do
    [[ -e $f ]] || continue
    if pid_alive "$f"; then echo "mm2 $(basename "$f" .pid): running (pid $(cat "$f"))"; any=1; fi
  done
  [[ -f $ENV_FILE ]] && echo "env file: $ENV_FILE"
  [[ $any == 1 ]]
}

cmd_reset() {
  cmd_down
  for c in "${CLUSTERS[@]}"; do rm -rf "${RUN:?}/$c"; done
  rm -rf "${RUN:?}/mm2"
  log "data wiped (certificates and passwords kept in $RUN)"
}

cmd_mm2() {
  local sub=${1:-} file name dir
  mkdir -p "$RUN/mm2"
  case "$sub" in
    start)
      file=${2:?usage: mm2 start FILE [NAME]}
      name=${3:-mm2}
      [[ -f $file ]] || die "no such mm2.properties: $file"
      cmd_fetch
      if pid_alive "$RUN/mm2/$name.pid"; then die "MirrorMaker 2 '$name' already runs (pid $(cat "$RUN/mm2/$name.pid"))"; fi
      dir="$RUN/mm2/$name"
      mkdir -p "$dir"
      write_log4j "$dir/log4j2.properties" "$dir/mm2.log"
      log "starting MirrorMaker 2 '$name' with $file (log $dir/mm2.log)"
      setsid "$JAVA" -Xms128m -Xmx"${STRAIT_MM2_HEAP:-1g}" -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$LIBS/*" \
        org.apache.kafka.connect.mirror.MirrorMaker "$(cd "$(dirname "$file")" && pwd)/$(basename "$file")" \
        >"$dir/stdout.log" 2>&1 </dev/null &
      echo $! >"$RUN/mm2/$name.pid"
      echo $!
      ;;
    stop)
      name=${2:-mm2}
      stop_pidfile "$RUN/mm2/$name.pid" "MirrorMaker 2 '$name'"
      ;;
    *) die "usage: mm2 start FILE [NAME] | mm2 stop [NAME]" ;;
  esac
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "the test bed is not up: run testbed/kafka.sh up"
  cat "$ENV_FILE"
}

cmd_java() {
  cmd_fetch
  kjava -Dlog4j2.configurationFile="$HERE/tools/log4j2-quiet.properties" "$@"
}

main() {
  local cmd=${1:-help}
  shift || true
  case "$cmd" in
    fetch) cmd_fetch ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    env) cmd_env ;;
    mm2) cmd_mm2 "$@" ;;
    java) cmd_java "$@" ;;
    help | -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: help)" ;;
  esac
}

main "$@"
