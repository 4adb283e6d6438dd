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
#   testbed/kafka.sh node CLUSTER N kill|stop|cont|start|status
#                                     faults on one node: SIGKILL, SIGSTOP (freeze), SIGCONT,
#                                     start it again (same config and data) and wait for it
#
# STRAIT_TESTBED_LEAST_PRIVILEGE=1 testbed/kafka.sh up makes the authorizer deny by default
# (allow.everyone.if.no.acl.found=false): only the super users (admin, the PLAINTEXT listener's
# ANONYMOUS) and what ACLs allow get through. The least-privilege test (tests/least_privilege.rs)
# runs Strait there as user strait-lp with exactly the ACLs docs/permissions.md lists. The
# mode is remembered in the run folder like the node count.
#
# STRAIT_TESTBED_BROKERS=3 testbed/kafka.sh up runs each cluster as 3 KRaft nodes (broker and
# controller each; replication factor 3, min.insync.replicas 2), as production clusters are.
# Node k listens on <base>+10*(k-1)+{0,1,2,3}; node 1 keeps the one-node ports. The count, and
# the ports, are remembered in the run folder: later commands need no variables.
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
# What `up` chose is remembered, so `node`, `down`, `status` and `env` need no variables.
LAYOUT_FILE="$RUN/layout"
if [[ -f $LAYOUT_FILE ]]; then
  # shellcheck disable=SC1090
  source "$LAYOUT_FILE"
fi
SOURCE_BASE=${STRAIT_TESTBED_SOURCE_PORT:-${LAYOUT_SOURCE_BASE:-19092}}
TARGET_BASE=${STRAIT_TESTBED_TARGET_PORT:-${LAYOUT_TARGET_BASE:-29092}}
BROKERS=${STRAIT_TESTBED_BROKERS:-${LAYOUT_BROKERS:-1}}
LEAST_PRIVILEGE=${STRAIT_TESTBED_LEAST_PRIVILEGE:-${LAYOUT_LEAST_PRIVILEGE:-0}}
[[ $LEAST_PRIVILEGE == 0 || $LEAST_PRIVILEGE == 1 ]] || { printf '[testbed] error: STRAIT_TESTBED_LEAST_PRIVILEGE must be 0 or 1, not %s\n' "$LEAST_PRIVILEGE" >&2; exit 1; }
[[ $BROKERS == 1 || $BROKERS == 3 ]] || { printf '[testbed] error: STRAIT_TESTBED_BROKERS must be 1 or 3, not %s\n' "$BROKERS" >&2; exit 1; }
CLUSTERS=(source target)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

base_port() { case "$1" in source) echo "$SOURCE_BASE" ;; target) echo "$TARGET_BASE" ;; esac; }

nodes() { seq 1 "$BROKERS"; }

node_port() { # CLUSTER NODE: the node's first port (PLAINTEXT); +1 SASL_SSL, +2 controller, +3 MTLS
  echo $(($(base_port "$1") + 10 * ($2 - 1)))
}

node_dir() { # CLUSTER NODE: one node keeps the original layout, several get a folder each
  if [[ $BROKERS == 1 ]]; then echo "$RUN/$1"; else echo "$RUN/$1/node-$2"; fi
}

bootstrap_list() { # CLUSTER OFFSET: every node's listener at port offset OFFSET, comma-separated
  local c=$1 off=$2 k out=()
  for k in $(nodes); do out+=("127.0.0.1:$(($(node_port "$c" "$k") + off))"); done
  local IFS=,
  echo "${out[*]}"
}

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
  # The least-privilege user (only the ACLs a test gives it), added to older test beds too.
  add_secret LP_PASSWORD "strait-lp-$(rand)"
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

write_broker_config() { # CLUSTER NODE
  local c=$1 k=$2 base dir voters="" j rf min_isr
  base=$(node_port "$c" "$k")
  dir=$(node_dir "$c" "$k")
  mkdir -p "$dir/data" "$dir/logs"
  for j in $(nodes); do voters+="${voters:+,}$j@127.0.0.1:$(($(node_port "$c" "$j") + 2))"; done
  # One node: everything at replication factor 1. Three: 3 with min.insync.replicas 2, so one
  # node may fail while acks=all writes go on, as in the seed's production clusters.
  if [[ $BROKERS == 1 ]]; then rf=1 min_isr=1; else rf=3 min_isr=2; fi
  local allow_everyone=true
  [[ $LEAST_PRIVILEGE == 1 ]] && allow_everyone=false
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  cat >"$dir/server.properties" <<EOF
# Generated by testbed/kafka.sh for node $k of the '$c' cluster; rewritten at every 'up'.
process.roles=broker,controller
node.id=$k
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$base,SASL_SSL://127.0.0.1:$((base + 1)),CONTROLLER://127.0.0.1:$((base + 2)),MTLS://127.0.0.1:$((base + 3))
advertised.listeners=PLAINTEXT://127.0.0.1:$base,SASL_SSL://127.0.0.1:$((base + 1)),MTLS://127.0.0.1:$((base + 3))
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT,MTLS:SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
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
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$ADMIN_PASSWORD" user_admin="$ADMIN_PASSWORD" user_replicator="$REPLICATOR_PASSWORD" user_strait-lp="$LP_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;

# By default ACLs are enforced only where some exist (so ACL sync can be tested); with
# STRAIT_TESTBED_LEAST_PRIVILEGE=1 everything is denied that no ACL allows. admin and the
# PLAINTEXT/controller principal are super users either way.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=$allow_everyone
super.users=User:admin;User:ANONYMOUS
EOF
  write_log4j "$dir/log4j2.properties" "$dir/logs/server.log"
}

format_storage() { # CLUSTER NODE
  local c=$1 dir id
  dir=$(node_dir "$c" "$2")
  [[ -f "$dir/data/meta.properties" ]] && return 0
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  if [[ $c == source ]]; then id=$CLUSTER_ID_SOURCE; else id=$CLUSTER_ID_TARGET; fi
  log "formatting node $2 of the '$c' cluster ($id)"
  kjava -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
    -t "$id" -c "$dir/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=admin,password=$ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-256=[name=replicator,password=$REPLICATOR_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=replicator,password=$REPLICATOR_PASSWORD]" \
    --add-scram "SCRAM-SHA-256=[name=strait-lp,password=$LP_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=strait-lp,password=$LP_PASSWORD]" \
    >"$dir/logs/format.log" 2>&1 || { cat "$dir/logs/format.log" >&2; die "formatting '$c' failed"; }
}

pid_alive() { # PIDFILE
  [[ -f "$1" ]] || return 1
  local pid
  pid=$(cat "$1")
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# A run folder holds one layout: a cluster formatted with one node cannot become three.
check_layout() {
  local c found
  for c in "${CLUSTERS[@]}"; do
    if [[ -f "$RUN/$c/data/meta.properties" ]]; then found=1
    elif [[ -f "$RUN/$c/node-1/data/meta.properties" ]]; then found=3
    else continue; fi
    [[ $found == "$BROKERS" ]] || die "the '$c' cluster in $RUN was made with $found node(s), not $BROKERS: run 'testbed/kafka.sh reset' first (or use another STRAIT_TESTBED_RUN)"
  done
}

start_broker() { # CLUSTER NODE
  local c=$1 k=$2 dir heap=$HEAP
  dir=$(node_dir "$c" "$k")
  if pid_alive "$dir/pid"; then
    log "node $k of '$c' already runs (pid $(cat "$dir/pid")); kept"
    return 0
  fi
  write_broker_config "$c" "$k"
  format_storage "$c" "$k"
  # Six JVMs share the machine in three-node mode.
  [[ $BROKERS == 1 ]] || heap=${STRAIT_TESTBED_HEAP:-384m}
  log "starting node $k of the '$c' cluster (ports $(node_port "$c" "$k")-$(($(node_port "$c" "$k") + 3)))"
  # setsid: the broker gets its own session, so it outlives this script and the caller's signals.
  setsid "$JAVA" -Xms128m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
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
BROKERS=$BROKERS
SOURCE_BOOTSTRAP_PLAINTEXT=$(bootstrap_list source 0)
SOURCE_BOOTSTRAP_SASL_SSL=$(bootstrap_list source 1)
TARGET_BOOTSTRAP_PLAINTEXT=$(bootstrap_list target 0)
TARGET_BOOTSTRAP_SASL_SSL=$(bootstrap_list target 1)
SASL_MECHANISMS=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
ADMIN_USER=admin
ADMIN_PASSWORD=$ADMIN_PASSWORD
REPLICATOR_USER=replicator
REPLICATOR_PASSWORD=$REPLICATOR_PASSWORD
LEAST_PRIVILEGE=$LEAST_PRIVILEGE
LP_USER=strait-lp
LP_PASSWORD=$LP_PASSWORD
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
    printf 'SOURCE_BOOTSTRAP_MTLS=%s\nTARGET_BOOTSTRAP_MTLS=%s\n' \
      "$(bootstrap_list source 3)" "$(bootstrap_list target 3)" >>"$tmp"
  else
    log "the clusters run without the mTLS listener (started before it existed): down, then up, to add it"
  fi
  umask 022
  mv "$tmp" "$ENV_FILE"
}

# Waits until every listener of both clusters answers a metadata request (one JVM for all).
wait_ready() { # [CLUSTER NODE]: one node only, else every node of both clusters
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
  local args=() pids=() c base k timeout=90
  # A broker restarted after kill -9 recovers its logs while the machine is busy replicating:
  # give one node more time than a fresh bed needs.
  [[ -n ${2:-} ]] && timeout=240
  for c in "${CLUSTERS[@]}"; do
    [[ -n ${1:-} && $1 != "$c" ]] && continue
    for k in $(nodes); do
      [[ -n ${2:-} && $2 != "$k" ]] && continue
      base=$(node_port "$c" "$k")
      args+=("$c/$k:PLAINTEXT:127.0.0.1:$base" "$c/$k:SASL_SSL:127.0.0.1:$((base + 1))")
      if has_mtls "$c"; then args+=("$c/$k:SSL:127.0.0.1:$((base + 3))"); fi
      pids+=("$(cat "$(node_dir "$c" "$k")/pid")")
    done
  done
  STRAIT_PROBE_PASSWORD="$ADMIN_PASSWORD" STRAIT_PROBE_TRUSTSTORE="$CERTS/ca.crt" \
    STRAIT_PROBE_KEYSTORE="$CERTS/client.p12" \
    STRAIT_PROBE_KEYSTORE_PASSWORD="$CLIENT_KEYSTORE_P12_PASSWORD" \
    STRAIT_PROBE_PIDS="${pids[*]}" STRAIT_PROBE_BROKERS="$BROKERS" \
    "$JAVA" -Dlog4j2.configurationFile="$HERE/tools/log4j2-quiet.properties" -cp "$LIBS/*" \
    "$HERE/tools/Probe.java" "${STRAIT_TESTBED_UP_TIMEOUT:-$timeout}" "${args[@]}" \
    || {
      for c in "${CLUSTERS[@]}"; do
        [[ -n ${1:-} && $1 != "$c" ]] && continue
        for k in $(nodes); do
          [[ -n ${2:-} && $2 != "$k" ]] && continue
          echo "[testbed] last lines of $c/$k's server.log:" >&2
          tail -n 30 "$(node_dir "$c" "$k")/logs/server.log" >&2 2>/dev/null || true
        done
      done
      die "the clusters did not come up"
    }
}

# Whether the cluster runs with the mTLS listener: a broker kept running from before it existed
# has none until it is restarted (down, up).
has_mtls() { # CLUSTER
  grep -q '^listeners=.*MTLS://' "$(node_dir "$1" 1)/server.properties" 2>/dev/null
}

cmd_up() {
  local t0=$SECONDS
  cmd_fetch
  make_secrets
  make_certs
  make_client_certs
  check_layout
  mkdir -p "$RUN"
  printf 'LAYOUT_BROKERS=%s\nLAYOUT_SOURCE_BASE=%s\nLAYOUT_TARGET_BASE=%s\nLAYOUT_LEAST_PRIVILEGE=%s\n' \
    "$BROKERS" "$SOURCE_BASE" "$TARGET_BASE" "$LEAST_PRIVILEGE" >"$LAYOUT_FILE"
  for c in "${CLUSTERS[@]}"; do for k in $(nodes); do start_broker "$c" "$k"; done; done
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
  for c in "${CLUSTERS[@]}"; do
    # All nodes of a cluster at once: the last of three stopped alone would wait for a quorum
    # that is gone. A frozen node would ignore SIGTERM until thawed.
    for k in $(nodes); do
      if pid_alive "$(node_dir "$c" "$k")/pid"; then
        kill -CONT "$(cat "$(node_dir "$c" "$k")/pid")" 2>/dev/null || true
        kill -TERM "$(cat "$(node_dir "$c" "$k")/pid")" 2>/dev/null || true
      fi
    done
    for k in $(nodes); do stop_pidfile "$(node_dir "$c" "$k")/pid" "node $k of the '$c' cluster"; done
  done
  rm -f "$ENV_FILE"
}

cmd_status() {
  local c f any=0
  for c in "${CLUSTERS[@]}"; do
    local base k
    for k in $(nodes); do
      base=$(node_port "$c" "$k")
      if pid_alive "$(node_dir "$c" "$k")/pid"; then
        echo "$c node $k: running (pid $(cat "$(node_dir "$c" "$k")/pid")), PLAINTEXT 127.0.0.1:$base, SASL_SSL 127.0.0.1:$((base + 1)), mTLS 127.0.0.1:$((base + 3))"
        any=1
      else
        echo "$c node $k: stopped"
      fi
    done
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
  rm -rf "${RUN:?}/mm2" "$LAYOUT_FILE"
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

cmd_node() { # CLUSTER N ACTION
  local c=${1:-} k=${2:-} action=${3:-} dir pid i
  [[ $c == source || $c == target ]] || die "usage: node source|target N kill|stop|cont|start|status"
  [[ $k =~ ^[0-9]+$ ]] && ((k >= 1 && k <= BROKERS)) || die "node must be 1..$BROKERS"
  dir=$(node_dir "$c" "$k")
  case "$action" in
    kill | stop | cont)
      pid_alive "$dir/pid" || die "node $k of '$c' is not running"
      pid=$(cat "$dir/pid")
      case "$action" in
        kill)
          kill -KILL "$pid"
          for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
          rm -f "$dir/pid"
          log "node $k of '$c' killed (pid $pid)"
          ;;
        stop) kill -STOP "$pid"; log "node $k of '$c' frozen (pid $pid)" ;;
        cont) kill -CONT "$pid"; log "node $k of '$c' resumed (pid $pid)" ;;
      esac
      ;;
    start)
      start_broker "$c" "$k"
      wait_ready "$c" "$k"
      ;;
    status)
      if pid_alive "$dir/pid"; then
        if [[ $(ps -o stat= -p "$(cat "$dir/pid")") == T* ]]; then echo frozen; else echo running; fi
      else
        echo stopped
      fi
      ;;
    *) die "usage: node source|target N kill|stop|cont|start|status" ;;
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
    node) cmd_node "$@" ;;
    help | -h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: help)" ;;
  esac
}

main "$@"
