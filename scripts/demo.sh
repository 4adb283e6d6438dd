#!/usr/bin/env bash
# Sets everything up on this machine and runs Strait's main job: two local Kafka clusters
# (the test bed, TLS + SASL/PLAIN), sample topics on the source, and a running flow that
# replicates them to the target. Runs until Ctrl-C (or for --for SECONDS), then shows what
# arrived on the target.
#
#   scripts/demo.sh [--for SECONDS] [--records N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh

run_for=0
records=20000
while (($#)); do
  case "$1" in
    --for) run_for=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh
echo "[demo] building strait (release)"
cargo build --release --bin strait
STRAIT="$CARGO_TARGET_DIR/release/strait"
testbed/kafka.sh up
# shellcheck disable=SC1091
source testbed/run/env

kjava() { testbed/kafka.sh java "$@"; }
echo "[demo] creating sample topics on the source and filling them ($records records each)"
for spec in demo.orders:3 demo.payments:2; do
  topic=${spec%%:*}
  kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$SOURCE_BOOTSTRAP_PLAINTEXT" \
    --create --if-not-exists --topic "$topic" --partitions "${spec##*:}" --replication-factor 1 \
    --config retention.ms=604800000
  kjava org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$records" \
    --record-size 512 --throughput -1 \
    --producer-props bootstrap.servers="$SOURCE_BOOTSTRAP_PLAINTEXT" compression.type=lz4 linger.ms=20 \
    | tail -n 1
done

demo_dir=testbed/run/demo
mkdir -p "$demo_dir"
config="$demo_dir/strait.yaml"
# The flow as a user would write it: SASL_SSL with PLAIN on both sides, a JKS truststore for the
# source and a PEM CA for the target, DefaultReplicationPolicy (remote topics `source.<topic>`).
cat >"$config" <<YAML
flows:
  - source:
      alias: source
      bootstrap.servers: "$SOURCE_BOOTSTRAP_SASL_SSL"
      security.protocol: SASL_SSL
      sasl.mechanism: PLAIN
      sasl.jaas.config: \${file:$PWD/$demo_dir/secrets.properties:source.jaas}
      ssl.truststore.location: "$TRUSTSTORE_JKS"
      ssl.truststore.password: \${file:$PWD/$demo_dir/secrets.properties:truststore.password}
    target:
      alias: target
      bootstrap.servers: "$TARGET_BOOTSTRAP_SASL_SSL"
      security.protocol: SASL_SSL
      sasl.mechanism: PLAIN
      sasl.jaas.config: \${file:$PWD/$demo_dir/secrets.properties:target.jaas}
      ssl.truststore.type: PEM
      ssl.truststore.location: "$TRUSTSTORE_PEM"
    connectors: [source]
    topics: "demo\\\\..*"
    replication.factor: 1
    offset-syncs.topic.replication.factor: 1
    refresh.topics.interval.seconds: 10
    worker:
      group.id: demo-source-target
      offset.storage.topic: demo-source-target-offsets
      offset.storage.replication.factor: 1
      offset.flush.interval.ms: 5000
YAML
jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$REPLICATOR_USER\" password=\"$REPLICATOR_PASSWORD\";"
umask 077
printf 'source.jaas=%s\ntarget.jaas=%s\ntruststore.password=%s\n' \
  "$jaas" "$jaas" "$TRUSTSTORE_JKS_PASSWORD" >"$demo_dir/secrets.properties"
umask 022

echo "[demo] resolved configuration (secrets redacted):"
"$STRAIT" validate -f "$config"
echo "[demo] running: $STRAIT run -f $config   (Ctrl-C to stop)"
"$STRAIT" run -f "$config" &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop INT TERM
if ((run_for > 0)); then sleep "$run_for"; stop; fi
wait "$pid" || true
trap - INT TERM
echo "[demo] records per partition on the target:"
kjava org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$TARGET_BOOTSTRAP_PLAINTEXT" \
  --topic 'source\.demo\..*'
