#!/usr/bin/env python3
"""Strait vs the real MirrorMaker 2 on the test bed: catch-up, steady-state latency, the
target's own ingest limit, then `strait verify` on every replica. With --eos, each also runs
with exactly-once on, beside its at-least-once run. Start it with bench/run.sh, which builds
the binaries and the Python venv; see bench/README.md for what is measured."""

import argparse
import bisect
import datetime
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
KAFKA_SH = ROOT / "testbed" / "kafka.sh"
RESULTS = ROOT / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MM2_PRODUCER = {"compression.type": "lz4", "linger.ms": "5", "batch.size": "65536"}
# The limit test asks what the target can take, not what one small-batch producer can send.
LIMIT_PRODUCER = {"compression.type": "lz4", "linger.ms": "20", "batch.size": "1048576",
                  "buffer.memory": "268435456", "max.request.size": "10485760"}
# Exactly-once, as each turns it on. Strait: the connector key (a transaction per partition
# every 100 ms, transaction.boundary=poll). MM2 dedicated mode (Kafka 3.5+): the target's
# worker key, the internal REST server KIP-710 asks for (port 0: any free port), and a
# read_committed source consumer, without which MirrorSourceConnector reports exactly-once
# UNSUPPORTED (Connect's transaction.boundary=poll: a transaction per task poll).
STRAIT_EOS = {"strait.exactly.once.enabled": '"true"'}
MM2_EOS = {"target.exactly.once.source.support": "enabled",
           "dedicated.mode.enable.internal.rest": "true",
           "listeners": "http://127.0.0.1:0",
           "{alias}.consumer.isolation.level": "read_committed"}


def strait_eos(args):
    """Strait's exactly-once keys (source connector), with --eos-interval-ms the same commit
    interval as MM2's."""
    keys = dict(STRAIT_EOS)
    if args.eos_interval_ms:
        keys |= {"transaction.boundary": "interval",
                 "transaction.boundary.interval.ms": str(args.eos_interval_ms)}
    return keys


def mm2_eos(args):
    """MM2's exactly-once keys; `{alias}` stands for the source alias."""
    keys = dict(MM2_EOS)
    if args.eos_interval_ms:
        keys |= {"{alias}->target.transaction.boundary": "interval",
                 "{alias}->target.transaction.boundary.interval.ms": str(args.eos_interval_ms)}
    return keys


def label(kind, eos):
    """A variant's name: strait, strait-eos, mm2, mm2-eos."""
    return f"{kind}-eos" if eos else kind


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def testbed_env():
    env = {}
    # The test bed's run folder, as testbed/kafka.sh chooses it.
    run = pathlib.Path(os.environ.get("STRAIT_TESTBED_RUN") or ROOT / "testbed" / "run")
    for line in (run / "env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


# --------------------------------------------------------------------------------------------
# CPU profiles (--profile)


class Perf:
    """`perf record` of one process (all its threads) with DWARF call graphs: the release
    binary keeps its symbols and unwind tables, so no special build is needed."""

    def __init__(self, pid, out):
        self.out = out
        self.proc = subprocess.Popen(
            ["perf", "record", "-q", "-F", "199", "--call-graph", "dwarf,8192", "-p", str(pid),
             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=open(out.with_suffix(".log"), "w"))

    def stop(self):
        self.proc.send_signal(2)
        self.proc.wait(timeout=120)


def flamegraph(data, svg, title):
    """Folded stacks (kept beside the SVG, for diffs between runs) and the flamegraph."""
    folded = svg.with_suffix(".folded")
    script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True)
    if script.returncode != 0 or not script.stdout:
        log(f"no profile in {data}: {script.stderr.decode(errors='replace').strip()[-500:]}; "
            f"perf said: {data.with_suffix('.log').read_text().strip()[-500:]}")
        return None
    collapsed = subprocess.run(["inferno-collapse-perf"], input=script.stdout,
                               capture_output=True, check=True)
    folded.write_bytes(collapsed.stdout)
    graph = subprocess.run(["inferno-flamegraph", "--title", title], input=collapsed.stdout,
                           capture_output=True, check=True)
    svg.write_bytes(graph.stdout)
    data.unlink()
    data.with_suffix(".log").unlink()
    return svg


# --------------------------------------------------------------------------------------------
# process tree accounting from /proc


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in pathlib.Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def cpu_seconds(pid):
    """user + sys of pid, plus its waited-for children (utime, stime, cutime, cstime)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / CLK_TCK
    except OSError:
        return 0.0


def status_kb(pid, key):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Watch(threading.Thread):
    """Samples a process tree every 200 ms: CPU seconds (kept per pid, so exited children still
    count) and the peak of the summed RSS; VmHWM of every member at the end."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.cpu, self.peak_rss_kb, self.hwm_kb = pid, {}, 0, {}
        self.series = []  # (time, CPU seconds so far)
        self.stopped = threading.Event()

    def sample(self):
        rss = 0
        for p in tree(self.pid):
            c = cpu_seconds(p)
            if c:
                self.cpu[p] = max(self.cpu.get(p, 0.0), c)
            rss += status_kb(p, "VmRSS")
            self.hwm_kb[p] = max(self.hwm_kb.get(p, 0), status_kb(p, "VmHWM"))
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.series.append((time.time(), sum(self.cpu.values())))

    def cpu_at(self, t):
        """CPU seconds used by time t (the last sample at or before it)."""
        before = [c for ts, c in self.series if ts <= t]
        return before[-1] if before else 0.0

    def run(self):
        while not self.stopped.wait(0.2):
            self.sample()

    def finish(self):
        """Final sample (call before stopping the process); returns (cpu s, peak RSS MiB)."""
        self.stopped.set()
        self.sample()
        peak = max(self.peak_rss_kb, sum(self.hwm_kb.values()))
        return sum(self.cpu.values()), peak / 1024

    def cpu_now(self):
        self.sample()
        return sum(self.cpu.values())


# --------------------------------------------------------------------------------------------
# the tools


class Bench:
    def __init__(self, args, env):
        self.args, self.env = args, env
        self.src = env["SOURCE_BOOTSTRAP_PLAINTEXT"]
        self.tgt = env["TARGET_BOOTSTRAP_PLAINTEXT"]
        self.work = RESULTS / args.run_id
        self.work.mkdir(parents=True, exist_ok=True)
        # Every topic this run creates or makes a replicator create, deleted at the end.
        self.made = {"source": set(), "target": set()}
        self.group_ids = {}  # alias -> Strait's group.id

    def tool(self, *argv, timeout=None):
        out = subprocess.run([self.args.bench_bin, *map(str, argv)], capture_output=True,
                             text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"bench {argv[0]} failed: {out.stderr.strip()[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def create(self, bootstrap, topics, partitions, *configs):
        self.made["source" if bootstrap == self.src else "target"].update(topics)
        cfg = [x for c in configs for x in ("--config", c)]
        self.tool("create", "--bootstrap", bootstrap, "--topics", ",".join(topics),
                  "--partitions", partitions, *cfg)

    def jaas(self):
        return ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                f'username="replicator" password="{self.env["REPLICATOR_PASSWORD"]}";')

    # ---- replicator configurations (SASL_SSL, as in production) ----

    def strait_yaml(self, alias, topics_regex, tasks, eos=False):
        e, tag = self.env, f"{self.args.run_id}-{alias}"
        keys = (strait_eos(self.args) if eos else {}) | dict(
            kv.split("=", 1) for kv in self.args.strait_conf)
        eos_section = ("    source_connector:\n"
                       + "".join(f'      {k}: "{v.strip(chr(34))}"\n' for k, v in keys.items())
                       if keys else "")
        side = lambda name, bootstrap: f"""    {name}:
      alias: {alias if name == 'source' else 'target'}
      bootstrap.servers: "{bootstrap}"
      security.protocol: SASL_SSL
      sasl.mechanism: PLAIN
      sasl.jaas.config: '{self.jaas()}'
      ssl.truststore.type: PEM
      ssl.truststore.location: "{e['TRUSTSTORE_PEM']}"
"""
        text = ("flows:\n  -\n" + side("source", e["SOURCE_BOOTSTRAP_SASL_SSL"])
                + side("target", e["TARGET_BOOTSTRAP_SASL_SSL"]) + f"""    connectors: [source]
{eos_section}    topics: "{topics_regex}"
    tasks.max: {tasks}
    replication.factor: 1
    offset-syncs.topic.replication.factor: 1
    refresh.topics.interval.seconds: 5
    sync.topic.acls.enabled: false
    worker:
      group.id: "strait-bench-{tag}"
      offset.storage.topic: "strait-bench-offsets-{tag}"
      offset.storage.partitions: 5
      offset.storage.replication.factor: 1
""")
        self.made["target"].add(f"strait-bench-offsets-{tag}")
        self.group_ids[alias] = f"strait-bench-{tag}"
        path = self.work / f"{alias}.yaml"
        path.write_text(text)
        path.chmod(0o600)
        return path

    def mm2_properties(self, alias, topics_regex, tasks, eos=False):
        e = self.env
        producer = "".join(f"target.producer.{k} = {v}\n" for k, v in MM2_PRODUCER.items())
        if eos:
            producer += "".join(f"{k.format(alias=alias)} = {v}\n" for k, v in mm2_eos(self.args).items())
        text = f"""clusters = {alias}, target
{alias}.bootstrap.servers = {e['SOURCE_BOOTSTRAP_SASL_SSL']}
{alias}.security.protocol = SASL_SSL
{alias}.sasl.mechanism = PLAIN
{alias}.sasl.jaas.config = {self.jaas()}
{alias}.ssl.truststore.type = PEM
{alias}.ssl.truststore.location = {e['TRUSTSTORE_PEM']}
target.bootstrap.servers = {e['TARGET_BOOTSTRAP_SASL_SSL']}
target.security.protocol = SASL_SSL
target.sasl.mechanism = PLAIN
target.sasl.jaas.config = {self.jaas()}
target.ssl.truststore.type = PEM
target.ssl.truststore.location = {e['TRUSTSTORE_PEM']}
{alias}->target.enabled = true
{alias}->target.topics = {topics_regex}
target->{alias}.enabled = false
tasks.max = {tasks}
emit.heartbeats.enabled = false
emit.checkpoints.enabled = false
sync.group.offsets.enabled = false
sync.topic.acls.enabled = false
refresh.topics.interval.seconds = 5
replication.factor = 1
offset-syncs.topic.replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
{producer}"""
        path = self.work / f"{alias}.properties"
        path.write_text(text)
        path.chmod(0o600)
        return path

    # ---- starting and stopping ----

    def start(self, kind, alias, topics_regex, eos=False):
        tasks = self.args.mm2_tasks or self.args.topics * self.args.partitions
        if kind == "strait":
            cfg = self.strait_yaml(alias, topics_regex, tasks, eos)
            logf = open(self.work / f"{alias}.log", "w")
            proc = subprocess.Popen([self.args.strait_bin, "run", "-f", str(cfg)], stdout=logf,
                                    stderr=logf, env={**os.environ, "STRAIT_LOG": "info,librdkafka=warn"})
            return {"kind": kind, "alias": alias, "pid": proc.pid, "proc": proc, "config": cfg}
        cfg = self.mm2_properties(alias, topics_regex, tasks, eos)
        name = f"bench-{self.args.run_id}-{alias}"
        out = subprocess.run(["bash", str(KAFKA_SH), "mm2", "start", str(cfg), name],
                             capture_output=True, text=True, check=True)
        pid = int(out.stdout.strip().splitlines()[-1])
        return {"kind": kind, "alias": alias, "pid": pid, "name": name, "config": cfg}

    def stop(self, r):
        if r["kind"] == "strait":
            r["proc"].terminate()
            try:
                r["proc"].wait(timeout=90)
            except subprocess.TimeoutExpired:
                r["proc"].kill()
                r["proc"].wait()
        else:
            subprocess.run(["bash", str(KAFKA_SH), "mm2", "stop", r["name"]], capture_output=True)

    # ---- measuring ----

    def wait(self, remote, total, source_topics):
        """Until the remote topics hold `total` records. With --eos, for every variant alike:
        offsets below the last stable offset (markers take offsets too), then each partition's
        last committed record must be its source partition's last record."""
        argv = ["wait", "--bootstrap", self.tgt, "--topics", ",".join(remote), "--total", total,
                "--timeout", self.args.timeout]
        if self.args.eos:
            argv += ["--source", self.src, "--source-topics", ",".join(source_topics)]
        return self.tool(*argv)

    def visible_start(self, alias, topics, remote):
        """A read_committed consumer of the remote topics, stamping each record when it is
        handed over (bench `visible`); told how many to expect by visible_finish. Its stderr
        goes to a file: a pipe nobody reads while it runs could fill and stall it."""
        argv = [self.args.bench_bin, "visible", "--source", self.src, "--target", self.tgt,
                "--pairs", ",".join(f"{t}={rt}" for t, rt in zip(topics, remote)),
                "--prefix", "m", "--timeout", str(self.args.timeout)]
        errf = open(self.work / f"visible-{alias}.log", "w")
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf,
                                text=True)
        proc.errf = errf
        return proc

    def probes_start(self, alias):
        """With --probes: a pinger on each cluster (bench `ping`) for the steady state's length,
        so the replicator's slow records can be set beside the clusters' own slow moments."""
        secs = str(self.args.seconds + 2)
        out, procs = {"latency_dump": self.work / f"latency-{alias}.txt"}, {}
        for side, bootstrap in (("source", self.src), ("target", self.tgt)):
            topic = f"bench-{self.args.run_id}-ping-{alias}"
            self.made[side].add(topic)
            out[f"{side}_dump"] = self.work / f"ping-{side}-{alias}.txt"
            procs[side] = subprocess.Popen(
                [self.args.bench_bin, "ping", "--bootstrap", bootstrap, "--topic", topic,
                 "--seconds", secs, "--dump", str(out[f"{side}_dump"])],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out["procs"] = procs
        return out

    def probes_finish(self, probes):
        for side, proc in probes.pop("procs").items():
            out, err = proc.communicate(timeout=self.args.seconds + 120)
            if proc.returncode != 0:
                raise RuntimeError(f"bench ping ({side}) failed: {err.strip()[-2000:]}")
            probes[side] = json.loads(out.strip().splitlines()[-1])
        return probes

    def visible_finish(self, proc, total):
        out, _ = proc.communicate(f"{total}\n", timeout=self.args.timeout + 60)
        proc.errf.close()
        if proc.returncode != 0:
            err = pathlib.Path(proc.errf.name).read_text()
            raise RuntimeError(f"bench visible failed: {err.strip()[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])

    # ---- phases ----

    def catch_up(self, kind, alias, topics, eos=False, profile=None):
        a = self.args
        remote = [f"{alias}.{t}" for t in topics]
        self.made["target"].update(remote)
        log(f"catch-up: {label(kind, eos)} ({alias}) replicating {a.records} records")
        t0 = time.time()
        r = self.start(kind, alias, f"bench-{a.run_id}-cu-.*", eos)
        watch = Watch(r["pid"])
        watch.start()
        # perf attached in the process's first instants records nothing (seen with perf 6.x):
        # start-up is not what is profiled, so attach a moment later.
        perf = (time.sleep(0.5), Perf(r["pid"], profile))[1] if profile else None
        try:
            w = self.wait(remote, a.records, topics)
            cpu, rss = watch.finish()
        finally:
            if perf:
                perf.stop()
            self.stop(r)
        done, first = w["done_ms"] / 1000, (w["first_ms"] or w["done_ms"]) / 1000
        gib = a.records * a.value_size / 2**30
        res = {"wall_s": done - t0, "startup_s": first - t0, "transfer_s": max(done - first, 1e-3),
               "cpu_s": cpu, "peak_rss_mib": rss, "config": str(r["config"]), "alias": alias}
        res["mb_s"] = a.records * a.value_size / 1e6 / res["transfer_s"]
        res["wall_mb_s"] = a.records * a.value_size / 1e6 / res["wall_s"]
        res["cpu_s_per_gib"] = cpu / gib
        # Without start-up (JVM, connections, topic creation): first to last record only.
        res["transfer_cpu_s_per_gib"] = (cpu - watch.cpu_at(first)) / gib
        log(f"catch-up: {label(kind, eos)}: {res['mb_s']:.1f} MB/s over {res['transfer_s']:.1f} s "
            f"(wall {res['wall_s']:.1f} s), {cpu:.1f} CPU s, peak RSS {rss:.0f} MiB")
        return res

    def steady(self, kind, alias, k, eos=False, profile=None):
        a = self.args
        tag = f"{kind}eos" if eos else kind
        topics = [f"bench-{a.run_id}-ss-{tag}{k}-{i}" for i in range(a.topics)]
        remote = [f"{alias}.{t}" for t in topics]
        # Append times on both sides: latency = target append time - source append time.
        self.create(self.src, topics, a.partitions, "message.timestamp.type=LogAppendTime")
        self.create(self.tgt, remote, a.partitions, "message.timestamp.type=LogAppendTime")
        regex = f"bench-{a.run_id}-ss-{tag}{k}-.*"
        log(f"steady: {label(kind, eos)} ({alias}) at {a.rate} records/s for {a.seconds} s")
        r = self.start(kind, alias, regex, eos)
        watch = Watch(r["pid"])
        watch.start()
        vis, lat = None, None
        try:
            # With --eos every variant's latency is what a read_committed consumer of the
            # target sees, live (running well before the measured records are written).
            if a.eos:
                vis = self.visible_start(alias, topics, remote)
            # Warm-up until the replicator delivers, so start-up is not counted as latency.
            warm = self.tool("steady", "--bootstrap", self.src, "--topics", ",".join(topics),
                             "--partitions", a.partitions, "--rate", a.rate, "--seconds", 3,
                             "--prefix", "w", "--value-size", a.value_size)
            self.wait(remote, warm["sent"], topics)
            perf = Perf(r["pid"], profile) if profile else None
            probes = self.probes_start(alias) if a.probes else None
            cpu0, t0 = watch.cpu_now(), time.time()
            m = self.tool("steady", "--bootstrap", self.src, "--topics", ",".join(topics),
                          "--partitions", a.partitions, "--rate", a.rate, "--seconds", a.seconds,
                          "--prefix", "m", "--value-size", a.value_size)
            cpu1, t1 = watch.cpu_now(), time.time()
            if perf:
                perf.stop()
            if probes:
                probes = self.probes_finish(probes)
            if vis:
                lat = self.visible_finish(vis, m["sent"])
            else:
                self.wait(remote, warm["sent"] + m["sent"], topics)
            watch.finish()
        finally:
            if vis and vis.poll() is None:
                vis.kill()
                vis.wait()
            if vis:
                vis.errf.close()
            self.stop(r)
        if lat is None:
            dump = ["--dump", probes["latency_dump"]] if probes else []
            lat = self.tool("latency", "--source", self.src, "--target", self.tgt, "--pairs",
                            ",".join(f"{t}={rt}" for t, rt in zip(topics, remote)), "--prefix", "m",
                            *dump)
        if probes:
            probes["attribution"] = attribute(probes["latency_dump"], probes["source_dump"],
                                              probes["target_dump"])
            (self.work / f"probes-{alias}.json").write_text(json.dumps(probes, indent=2,
                                                                       default=str))
            log(f"probes: replicator p99 {lat['p99_ms']} ms; source ping p99 "
                f"{probes['source']['p99_ms']} ms; target ping p99 "
                f"{probes['target']['p99_ms']} ms; {probes['attribution']}")
        res = {**lat, "sent": m["sent"], "cpu_cores": (cpu1 - cpu0) / max(t1 - t0, 1e-3),
               "config": str(r["config"]), "topics_regex": regex, "alias": alias}
        log(f"steady: {label(kind, eos)}: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
            f"max {lat['max_ms']} ms, {res['cpu_cores']:.2f} cores")
        return res

    def limit(self):
        """The target's own ingest rate for records of the same size, with Kafka's
        ProducerPerformance over the same listener, acks=all and lz4, batches of up to 1 MiB."""
        a = self.args
        topic = f"bench-{a.run_id}-limit"
        self.create(self.tgt, [topic], a.topics * a.partitions)
        props = self.work / "limit-producer.properties"
        props.write_text(f"""bootstrap.servers={self.env['TARGET_BOOTSTRAP_SASL_SSL']}
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config={self.jaas()}
ssl.truststore.type=PEM
ssl.truststore.location={self.env['TRUSTSTORE_PEM']}
acks=all
""" + "".join(f"{k}={v}\n" for k, v in LIMIT_PRODUCER.items()))
        props.chmod(0o600)
        log(f"limit: ProducerPerformance, {a.records} records of {a.value_size} B")
        out = subprocess.run(["bash", str(KAFKA_SH), "java", "org.apache.kafka.tools.ProducerPerformance",
                              "--topic", topic, "--num-records", str(a.records), "--record-size",
                              str(a.value_size), "--throughput", "-1", "--producer.config", str(props)],
                             capture_output=True, text=True, timeout=a.timeout)
        last = [l for l in out.stdout.splitlines() if "records sent" in l]
        m = re.search(r"([\d.]+) records/sec \(([\d.]+) MB/sec\)", last[-1] if last else "")
        if not m:
            raise RuntimeError(f"ProducerPerformance: {out.stdout[-1000:]} {out.stderr[-1000:]}")
        # ProducerPerformance's MB is 2^20 bytes; report 10^6 like the rest.
        res = {"records_s": float(m.group(1)), "mb_s": float(m.group(1)) * a.value_size / 1e6}
        log(f"limit: {res['mb_s']:.1f} MB/s")
        return res

    def transactional_ids(self):
        """Every transactional id the target's coordinators know (kafka-transactions.sh list)."""
        out = subprocess.run(["bash", str(KAFKA_SH), "java", "org.apache.kafka.tools.TransactionsCommand",
                              "--bootstrap-server", self.tgt, "list"],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            log(f"kafka-transactions list failed: {out.stderr.strip()[-500:]}")
            return []
        rows = [line.split() for line in out.stdout.splitlines()[1:] if line.strip()]
        return [{"id": r[0], "state": r[-1]} for r in rows if r]

    def ids_of(self, kind, alias, ids):
        """The transactional ids a replicator run wrote with: MM2's tasks are
        `<group.id>-<connector>-<task>` (group.id `<alias>-mm2`); Strait's start with its
        group.id by default (`<group.id>-<connector>-<topic>-<partition>`)."""
        prefix = f"{alias}-mm2-" if kind == "mm2" else f"{self.group_ids.get(alias, alias)}-"
        return sorted(i["id"] for i in ids if i["id"].startswith(prefix))

    def clean_up(self):
        for side, bootstrap in (("source", self.src), ("target", self.tgt)):
            if self.made[side]:
                self.tool("delete", "--bootstrap", bootstrap, "--topics", ",".join(sorted(self.made[side])))

    def verify(self, config, topics_regex, ignore_timestamps=False):
        argv = [self.args.strait_bin, "verify", "-f", str(config), "--json", "--topic", topics_regex,
                "--parallelism", "4"]
        if ignore_timestamps:
            argv.append("--ignore-timestamps")
        out = subprocess.run(argv, capture_output=True, text=True,
                             env={**os.environ, "STRAIT_LOG": "warn,librdkafka=error"})
        try:
            report = json.loads(out.stdout)
        except json.JSONDecodeError:
            return {"equal": False, "error": out.stderr.strip()[-500:], "exit": out.returncode}
        s = report["summary"]
        # Target offsets that hold no record a read_committed reader sees: transaction markers
        # (and aborted records). None without transactions, so the proof that a run wrote
        # transactionally.
        markers = sum(p["target_range"][1] - p["target_range"][0] - p["target_records"]
                      for p in report["partitions"] if p.get("target_range"))
        return {"equal": report["equal"] and out.returncode == 0, "exit": out.returncode,
                "partitions": s["partitions"], "records": s["source_records"], "seconds": s["seconds"],
                "markers": markers,
                "different": [f"{p['topic']}/{p['partition']}: {p['status']} {p.get('problems')}"
                              for p in report["partitions"] if p["status"] != "equal"]}


# --------------------------------------------------------------------------------------------
# the report


def attribute(strait_dump, source_dump, target_dump, slow_ms=50, usual_ms=30):
    """Which of the replicator's slow records (latency over slow_ms) the clusters explain. A
    broker pause of D ms delays a record on its way by up to D, and a ping sent during it by up
    to D too; so a slow record of latency L is the source's when a source ping sent while it
    was on its way ([append - 20 ms, append + L]) waited at least (L - usual_ms) / 2 and 20 ms
    for its acknowledgement, else the target's on the same rule with the target's pings, else
    unexplained: the replicator's own, or the machine starving it and not the brokers."""
    def pairs(path):
        out = []
        for line in pathlib.Path(path).read_text().splitlines():
            f = line.split()
            out.append((int(f[0]), int(f[1])))
        out.sort()
        return out

    strait, src, tgt = pairs(strait_dump), pairs(source_dump), pairs(target_dump)
    src_t, tgt_t = [t for t, _ in src], [t for t, _ in tgt]

    def worst(series, times, lo, hi):
        i, j = bisect.bisect_left(times, lo), bisect.bisect_right(times, hi)
        return max((lat for _, lat in series[i:j]), default=0)

    counts = {"source": 0, "target": 0, "unexplained": 0}
    slow = [(t, lat) for t, lat in strait if lat > slow_ms]
    for t, lat in slow:
        need = max(20, (lat - usual_ms) / 2)
        if worst(src, src_t, t - 20, t + lat) >= need:
            counts["source"] += 1
        elif worst(tgt, tgt_t, t - 20, t + lat) >= need:
            counts["target"] += 1
        else:
            counts["unexplained"] += 1
    n = max(len(strait), 1)
    return {"records": len(strait), "slow": len(slow), "slow_share": round(len(slow) / n, 4),
            "source_explains": counts["source"], "target_explains": counts["target"],
            "unexplained": counts["unexplained"],
            "unexplained_share": round(counts["unexplained"] / n, 4)}


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def machine():
    cpu = "?"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = status_like("/proc/meminfo", "MemTotal") / 2**20
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True).stdout.strip()
    lock = (ROOT / "Cargo.lock").read_text()
    rdk = re.search(r'name = "rdkafka-sys"\nversion = "([^"]+)"', lock)
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem, 1), "kernel": platform.release(),
            "java": java[0] if java else "?", "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "rdkafka_sys": rdk.group(1) if rdk else "?"}


def status_like(path, key):
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def ratio(s, m):
    # Three significant digits, so a ratio just past a target (0.103 vs 0.1) shows as such.
    return f"{s / m:.3g}×" if m and m == m and s == s else "–"


def header(args, env, res):
    mach = res["machine"]
    value_mib = args.records * args.value_size / 2**20
    lines = [
        f"\n## {res['started']} — run `{args.run_id}`{' (quick)' if args.quick else ''}"
        f"{', at-least-once and exactly-once' if args.eos else ''}\n",
        f"- **Machine**: {mach['cpu']}, {mach['cores']} cores, {mach['mem_gib']} GiB, Linux {mach['kernel']}. "
        f"Load average {res['load_before']} before, {res['load_after']} after."
        + (f" **{args.note}**" if args.note else ""),
        f"- **Versions**: Strait {mach['commit']}{' + uncommitted changes' if mach['dirty'] else ''} "
        f"(rdkafka-sys {mach['rdkafka_sys']}, release build); Apache Kafka {env.get('KAFKA_VERSION')} "
        f"brokers, MirrorMaker 2 and ProducerPerformance; {mach['java']}.",
        f"- **Data**: {args.topics} topics × {args.partitions} partitions, {args.records} records "
        f"({value_mib:.0f} MiB of values): {args.value_size} B values of random letters, key "
        f"`k-<n>`, two headers, lz4 at the source. Steady state: {args.rate} records/s for "
        f"{args.seconds} s after a 3 s warm-up, LogAppendTime on source and remote topics.",
        f"- **Settings**: both over SASL_SSL (PLAIN) to both clusters, from scratch into fresh remote "
        f"topics, alternating ({args.rounds} round{'s' if args.rounds > 1 else ''}, median shown"
        f"{'' if getattr(args, 'no_warm_up', False) else ', after one unmeasured Strait catch-up that warms the brokers up'}). "
        f"Strait: `strait run`, defaults (target writer `auto`: its own at-least-once, librdkafka's "
        f"producer with exactly-once; lz4, linger.ms 5, acks all, idempotent)"
        + (f", with {', '.join(args.strait_conf)}" if args.strait_conf else "")
        + f". MM2: dedicated mode, tasks.max {args.mm2_tasks or args.topics * args.partitions}, "
        f"target producer {', '.join(f'{k} {v}' for k, v in MM2_PRODUCER.items())} "
        f"(Connect's acks all), heap {os.environ.get('STRAIT_MM2_HEAP', '1g')}, heartbeats and "
        f"checkpoints off. Limit: ProducerPerformance, one producer over SASL_SSL, acks all, "
        f"{', '.join(f'{k} {v}' for k, v in LIMIT_PRODUCER.items())}. MB = 10^6 bytes of values.",
    ]
    if args.eos:
        lines.append(
            "- **Exactly-once**: Strait "
            + ", ".join(f"`{k}: {v}`" for k, v in strait_eos(args).items())
            + f" (a transaction per partition every {args.eos_interval_ms or 100} ms); MM2 "
            + ", ".join(f"`{k.replace('{alias}', '<alias>')} = {v}`" for k, v in mm2_eos(args).items())
            + (f" (a transaction per task every {args.eos_interval_ms} ms)" if args.eos_interval_ms
               else " (Connect's transaction.boundary poll: a transaction per task poll)")
            + ". For all four "
            "variants alike, a replica is complete when each partition's last record is visible "
            "to a read_committed consumer, and latency is when a live read_committed consumer of "
            "the target gets each record, minus its source append time (beside it, the target "
            "append time minus the source's, which does not wait for the commit). Markers: "
            "target offsets a read_committed reader skips (transaction markers), counted by "
            "`strait verify` on the catch-up replicas.")
    return lines


def write_report(args, env, res):
    lines = header(args, env, res)
    lines += (table_eos(args, res) if args.eos else table(args, res))
    lines += ["", f"![throughput and latency](bench/results/{args.run_id}/chart.png)", ""]
    for variant, svgs in res.get("profiles", {}).items():
        lines += [f"CPU profiles of {variant} (perf, separate runs): "
                  + ", ".join(f"[{pathlib.Path(x).stem}]({x})" for x in svgs), ""]
    path = ROOT / "BENCHMARKS.md"
    if not path.exists():
        path.write_text("# Benchmarks: Strait vs MirrorMaker 2\n\nAppended by `bench/run.sh`; "
                        "see `bench/README.md` for what each figure means.\n")
    with path.open("a") as f:
        f.write("\n".join(lines))
    return "\n".join(lines)


def agg(runs, key):
    return median([r[key] for r in runs if r.get(key) is not None])


def targets(cu_s, cu_m, ss_s, ss_m):
    """Issue 6's targets, Strait against MM2."""
    return [
        ("catch-up throughput ≥ 2× MM2", agg(cu_s, "mb_s") >= 2 * agg(cu_m, "mb_s")),
        ("CPU s/GiB ≤ 0.3× MM2", agg(cu_s, "cpu_s_per_gib") <= 0.3 * agg(cu_m, "cpu_s_per_gib")),
        ("peak RSS ≤ 0.1× MM2", agg(cu_s, "peak_rss_mib") <= 0.1 * agg(cu_m, "peak_rss_mib")),
        ("p99 latency ≤ 0.5× MM2", agg(ss_s, "p99_ms") <= 0.5 * agg(ss_m, "p99_ms")),
    ]


def targets_15(args, cu_s, cu_m, ss_s, ss_m, limit_mb_s):
    """Issue 15's targets: near the physical limit (the target's ingest limit), and a fraction
    of MM2's CPU. The CPU per GiB target is 0.1x MM2 with 1 KiB records, 0.2x with smaller."""
    cpu_ratio = 0.1 if args.value_size >= 1024 else 0.2
    return [
        ("steady CPU ≤ 0.25× MM2", agg(ss_s, "cpu_cores") <= 0.25 * agg(ss_m, "cpu_cores")),
        (f"CPU s/GiB ≤ {cpu_ratio}× MM2",
         agg(cu_s, "cpu_s_per_gib") <= cpu_ratio * agg(cu_m, "cpu_s_per_gib")),
        ("catch-up ≥ 90 % of the ingest limit", agg(cu_s, "mb_s") >= 0.9 * limit_mb_s),
        ("peak RSS ≤ 64 MiB", agg(cu_s, "peak_rss_mib") <= 64),
        ("p99 latency < 50 ms", agg(ss_s, "p99_ms") < 50),
    ]


def met(ts):
    return "; ".join(f"{t}: {'met' if ok_ else '**not met**'}" for t, ok_ in ts)


def table(args, res):
    s, m = res["catch_up"]["strait"], res["catch_up"]["mm2"]
    ss, sm = res["steady"]["strait"], res["steady"]["mm2"]
    rows = [
        ("catch-up wall time, start to last record (s)", "wall_s", "{:.1f}", s, m),
        ("catch-up start-up, start to first record (s)", "startup_s", "{:.1f}", s, m),
        ("catch-up throughput, first to last record (MB/s)", "mb_s", "{:.1f}", s, m),
        ("CPU seconds (user+sys, process tree)", "cpu_s", "{:.1f}", s, m),
        ("CPU s per GiB replicated", "cpu_s_per_gib", "{:.2f}", s, m),
        ("CPU s per GiB, first to last record only", "transfer_cpu_s_per_gib", "{:.2f}", s, m),
        ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}", s, m),
        (f"steady p50 latency at {args.rate} rec/s (ms)", "p50_ms", "{:.0f}", ss, sm),
        ("steady p99 latency (ms)", "p99_ms", "{:.0f}", ss, sm),
        ("steady max latency (ms)", "max_ms", "{:.0f}", ss, sm),
        ("steady CPU (cores)", "cpu_cores", "{:.2f}", ss, sm),
    ]
    lim = res["limit"]
    lines = ["", "| figure | Strait | MM2 | Strait/MM2 |", "|---|---:|---:|---:|"]
    for name, key, fmt, a, b in rows:
        x, y = agg(a, key), agg(b, key)
        lines.append(f"| {name} | {fmt.format(x)} | {fmt.format(y)} | {ratio(x, y)} |")
    smb, mmb = agg(s, "mb_s"), agg(m, "mb_s")
    lines.append(f"| target ingest limit, ProducerPerformance (MB/s) | {lim['mb_s']:.1f} | | |")
    lines.append(f"| catch-up throughput as a fraction of the limit | {smb / lim['mb_s']:.2f} | "
                 f"{mmb / lim['mb_s']:.2f} | |")
    v = res["verify"]
    ok = lambda k: all(x["equal"] for x in v[k])
    lines.append(f"| `strait verify` of every replica | {'equal' if ok('strait') else 'NOT EQUAL'} | "
                 f"{'equal' if ok('mm2') else 'NOT EQUAL'} | |")
    lines += ["", "Issue 6 targets: " + met(targets(s, m, ss, sm)) + "."]
    lines += ["", "Issue 15 targets: " + met(targets_15(args, s, m, ss, sm, lim["mb_s"])) + "."]
    return lines


def table_eos(args, res):
    """Four columns, each tool at-least-once and exactly-once, the cost of exactly-once as a
    ratio per tool, and Strait against MM2 with both exactly-once."""
    cu, st = res["catch_up"], res["steady"]
    rows = [
        ("catch-up wall time, start to last record (s)", "wall_s", "{:.1f}", cu),
        ("catch-up start-up, start to first record (s)", "startup_s", "{:.1f}", cu),
        ("catch-up throughput, first to last record (MB/s)", "mb_s", "{:.1f}", cu),
        ("CPU seconds (user+sys, process tree)", "cpu_s", "{:.1f}", cu),
        ("CPU s per GiB replicated", "cpu_s_per_gib", "{:.2f}", cu),
        ("CPU s per GiB, first to last record only", "transfer_cpu_s_per_gib", "{:.2f}", cu),
        ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}", cu),
        ("catch-up transaction markers on the target", "markers", "{:.0f}", cu),
        ("catch-up records per marker", "records_per_marker", "{:.0f}", cu),
        (f"steady p50 latency at {args.rate} rec/s, read_committed (ms)", "p50_ms", "{:.0f}", st),
        ("steady p99 latency, read_committed (ms)", "p99_ms", "{:.0f}", st),
        ("steady max latency, read_committed (ms)", "max_ms", "{:.0f}", st),
        ("steady p50 latency, target append time (ms)", "append_p50_ms", "{:.0f}", st),
        ("steady p99 latency, target append time (ms)", "append_p99_ms", "{:.0f}", st),
        ("steady CPU (cores)", "cpu_cores", "{:.2f}", st),
    ]
    tx = res["transactional"]
    col = lambda k, name: name if tx[k] else f"{name} (NOT TRANSACTIONAL)"
    lines = ["", f"| figure | Strait | {col('strait-eos', 'Strait EOS')} | EOS/ALO | MM2 | "
                 f"{col('mm2-eos', 'MM2 EOS')} | EOS/ALO | Strait/MM2, EOS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, key, fmt, runs in rows:
        x = {k: agg(runs[k], key) for k in ("strait", "strait-eos", "mm2", "mm2-eos")}
        f = lambda v: fmt.format(v) if v == v else "–"
        lines.append(f"| {name} | {f(x['strait'])} | {f(x['strait-eos'])} | "
                     f"{ratio(x['strait-eos'], x['strait'])} | {f(x['mm2'])} | {f(x['mm2-eos'])} | "
                     f"{ratio(x['mm2-eos'], x['mm2'])} | {ratio(x['strait-eos'], x['mm2-eos'])} |")
    lim = res["limit"]["mb_s"]
    frac = {k: agg(cu[k], "mb_s") / lim for k in cu}
    lines.append(f"| catch-up throughput as a fraction of the limit ({lim:.1f} MB/s, "
                 f"ProducerPerformance) | {frac['strait']:.2f} | {frac['strait-eos']:.2f} | | "
                 f"{frac['mm2']:.2f} | {frac['mm2-eos']:.2f} | | |")
    ids = res.get("transactional_ids", {})
    lines.append(f"| transactional ids on the target | {ids.get('strait', '–')} | "
                 f"{ids.get('strait-eos', '–')} | | {ids.get('mm2', '–')} | {ids.get('mm2-eos', '–')} | | |")
    v = res["verify"]
    ok = lambda k: "equal" if all(x["equal"] for x in v[k]) else "NOT EQUAL"
    lines.append(f"| `strait verify` of every replica | {ok('strait')} | {ok('strait-eos')} | | "
                 f"{ok('mm2')} | {ok('mm2-eos')} | | |")
    word = lambda k: "transactional" if tx[k] else "**NOT TRANSACTIONAL** (no transaction markers)"
    lines += ["", f"Exactly-once runs: Strait {word('strait-eos')}, MM2 {word('mm2-eos')}."]
    eos_targets = (met(targets(cu["strait-eos"], cu["mm2-eos"], st["strait-eos"], st["mm2-eos"]))
                   if all(tx.values()) else "not assessed, a run was not transactional")
    lines += ["", "Issue 6 targets, at-least-once: "
              + met(targets(cu["strait"], cu["mm2"], st["strait"], st["mm2"]))
              + ". Exactly-once: " + eos_targets + "."]
    return lines


NAMES = {"strait": "Strait", "mm2": "MM2", "strait-eos": "Strait EOS", "mm2-eos": "MM2 EOS"}
COLORS = {"strait": "#1f77b4", "mm2": "#ff7f0e", "strait-eos": "#aec7e8", "mm2-eos": "#ffbb78"}


def chart(args, res):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cu, st = res["catch_up"], res["steady"]
    kinds = list(cu)
    fig, ax = plt.subplots(1, 4, figsize=(15 if len(kinds) == 2 else 18, 4))
    ax[0].bar([NAMES[k] for k in kinds] + ["target limit"],
              [agg(cu[k], "mb_s") for k in kinds] + [res["limit"]["mb_s"]],
              color=[COLORS[k] for k in kinds] + ["#7f7f7f"])
    ax[0].set_title("catch-up throughput (MB/s)")
    ax[0].tick_params(axis="x", labelrotation=20 if len(kinds) > 2 else 0)
    keys = ["p50_ms", "p99_ms", "max_ms"]
    w = 0.8 / len(kinds)
    for j, k in enumerate(kinds):
        ax[1].bar([i + (j - (len(kinds) - 1) / 2) * w for i in range(3)], [agg(st[k], q) for q in keys],
                  w, label=NAMES[k], color=COLORS[k])
    ax[1].set_xticks(range(3), ["p50", "p99", "max"])
    ax[1].set_title(f"{'read_committed' if args.eos else 'end-to-end'} latency at {args.rate} rec/s (ms)")
    ax[1].legend()
    for a_, key, title in ((ax[2], "cpu_s_per_gib", "CPU seconds per GiB"),
                           (ax[3], "peak_rss_mib", "peak RSS (MiB)")):
        a_.bar([NAMES[k] for k in kinds], [agg(cu[k], key) for k in kinds],
               color=[COLORS[k] for k in kinds])
        a_.set_title(title)
        a_.tick_params(axis="x", labelrotation=20 if len(kinds) > 2 else 0)
    fig.suptitle(f"Strait vs MirrorMaker 2{', at-least-once and exactly-once' if args.eos else ''} — "
                 f"{args.topics}×{args.partitions} partitions, "
                 f"{args.records} × {args.value_size} B records (run {args.run_id})")
    fig.tight_layout()
    out = RESULTS / args.run_id / "chart.png"
    fig.savefig(out, dpi=100)
    return out


# --------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: about 1-2 minutes")
    p.add_argument("--eos", action="store_true",
                   help="also run both with exactly-once on: four variants, EOS/ALO ratios")
    p.add_argument("--eos-interval-ms", type=int,
                   help="with --eos, both commit every this many ms (transaction.boundary=interval) "
                        "instead of each one's default")
    p.add_argument("--topics", type=int, help="source topics (default 4; quick 2)")
    p.add_argument("--partitions", type=int, help="partitions per topic (default 4; quick 2)")
    p.add_argument("--records", type=int, help="records in all (default 2000000; quick 150000)")
    p.add_argument("--value-size", type=int, default=1024)
    p.add_argument("--rate", type=int, help="steady-state records/s (default 5000; quick 2000)")
    p.add_argument("--seconds", type=float, help="steady-state duration (default 120; quick 10)")
    p.add_argument("--rounds", type=int, default=1, help="catch-up and steady runs per replicator")
    p.add_argument("--mm2-tasks", type=int, help="MM2 tasks.max (default: all partitions)")
    p.add_argument("--timeout", type=int, default=1200, help="seconds any one wait may take")
    p.add_argument("--keep", action="store_true", help="keep the run's topics (default: delete)")
    p.add_argument("--no-warm-up", action="store_true",
                   help="skip the unmeasured catch-up that warms the brokers up before the rounds")
    p.add_argument("--profile", action="store_true",
                   help="then profile Strait (perf, not counted in the figures): flamegraphs of "
                        "its catch-up and steady state in bench/results/<run>/")
    p.add_argument("--strait-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a source connector key for Strait (e.g. producer.override.linger.ms=20)")
    p.add_argument("--strait-only", action="store_true",
                   help="only Strait's measured runs, for trying settings: no MM2, no limit, no "
                        "verify, nothing appended")
    p.add_argument("--profile-only", action="store_true",
                   help="only the profiling runs: no MM2, no figures, nothing appended")
    p.add_argument("--probes", action="store_true",
                   help="with --strait-only: beside each steady state, a pinger on each "
                        "cluster, to tell the replicator's slow records from the clusters' "
                        "(their CPU counts in the figures)")
    p.add_argument("--note", default="", help="a remark for the report (e.g. a busy machine)")
    p.add_argument("--strait-bin", required=True)
    p.add_argument("--bench-bin", required=True)
    p.add_argument("--run-id", default=time.strftime("%Y%m%d-%H%M%S"))
    a = p.parse_args()
    if a.probes and (not a.strait_only or a.eos):
        p.error("--probes needs --strait-only, without --eos: the probes' CPU would count "
                "against one side, and they read at-least-once append times")
    if a.eos_interval_ms and not a.eos:
        p.error("--eos-interval-ms needs --eos")
    d = (2, 2, 150_000, 2000, 10) if a.quick else (4, 4, 2_000_000, 5000, 120)
    for name, default in zip(["topics", "partitions", "records", "rate", "seconds"], d):
        if getattr(a, name) is None:
            setattr(a, name, default)

    env = testbed_env()
    b = Bench(a, env)
    # Variants in the order of even rounds; odd rounds go in reverse, so drift on the machine
    # hits all of them.
    variants = ([("strait", False), ("strait", True), ("mm2", False), ("mm2", True)] if a.eos
                else [("strait", False), ("mm2", False)])
    if a.strait_only:
        variants = [v for v in variants if v[0] == "strait"]
    labels = [label(k, e) for k, e in variants]
    res = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "args": {k: v for k, v in vars(a).items()}, "machine": machine(),
           "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
           "catch_up": {x: [] for x in labels}, "steady": {x: [] for x in labels},
           "verify": {x: [] for x in labels}}

    topics = [f"bench-{a.run_id}-cu-{i}" for i in range(a.topics)]
    b.create(b.src, topics, a.partitions)
    log(f"filling {a.topics}×{a.partitions} partitions with {a.records} records")
    fill = b.tool("fill", "--bootstrap", b.src, "--topics", ",".join(topics), "--partitions",
                  a.partitions, "--records", a.records, "--value-size", a.value_size)
    res["fill"] = fill
    log(f"filled at {fill['records_per_second']:.0f} records/s")

    verify_jobs = []  # (label, phase, result, config, topics regex, ignore timestamps)
    runs = []  # (label, kind, alias)
    if a.profile_only:
        a.profile, a.rounds = True, 0
    if a.rounds > 0 and not a.no_warm_up:
        # Brokers started for this run are still compiling their hot paths (JIT): the first
        # catch-up after start-up ran at half the speed of the next ones (74 against 150-180
        # MB/s), and whichever variant comes first paid for it. One unmeasured copy first.
        log("warm-up: one unmeasured catch-up, so the brokers' first slow minutes count for "
            "no variant")
        b.catch_up("strait", "warmup", topics)
    for k in range(a.rounds):
        order = variants if k % 2 == 0 else variants[::-1]
        for kind, eos in order:
            alias = {("strait", False): f"strait{k}", ("strait", True): f"straiteos{k}",
                     ("mm2", False): f"mm2r{k}", ("mm2", True): f"mm2eosr{k}"}[kind, eos]
            r = b.catch_up(kind, alias, topics, eos)
            res["catch_up"][label(kind, eos)].append(r)
            runs.append((label(kind, eos), kind, alias))
            verify_jobs.append((label(kind, eos), r, r["config"], f"bench-{a.run_id}-cu-.*", False))
        for kind, eos in reversed(order):
            alias = {("strait", False): f"straitss{k}", ("strait", True): f"straiteosss{k}",
                     ("mm2", False): f"mm2ss{k}", ("mm2", True): f"mm2eosss{k}"}[kind, eos]
            r = b.steady(kind, alias, k, eos)
            res["steady"][label(kind, eos)].append(r)
            runs.append((label(kind, eos), kind, alias))
            verify_jobs.append((label(kind, eos), r, r["config"], r["topics_regex"], True))
    if a.profile:
        # Separate runs: perf's own CPU must not count in the figures above.
        res["profiles"] = {}
        for kind, eos in variants:
            if kind != "strait":
                continue
            tag = "eos" if eos else ""
            prof = RESULTS / a.run_id
            prof.mkdir(parents=True, exist_ok=True)
            data = b.work / f"perf-catchup{tag}.data"
            r = b.catch_up(kind, f"straitprof{tag}", topics, eos, profile=data)
            svg = flamegraph(data, prof / f"flame-catchup{'-eos' if eos else ''}.svg",
                             f"Strait{' exactly-once' if eos else ''} catch-up, run {a.run_id}")
            data = b.work / f"perf-steady{tag}.data"
            r2 = b.steady(kind, f"straitprofss{tag}", "prof", eos, profile=data)
            svg2 = flamegraph(data, prof / f"flame-steady{'-eos' if eos else ''}.svg",
                              f"Strait{' exactly-once' if eos else ''} steady state at {a.rate} "
                              f"records/s, run {a.run_id}")
            res["profiles"][label(kind, eos)] = [str(x.relative_to(ROOT)) for x in (svg, svg2) if x]
            log(f"profiles: {svg}, {svg2} (under perf: {r['mb_s']:.1f} MB/s, "
                f"steady {r2['cpu_cores']:.2f} cores)")
    if a.profile_only or a.strait_only:
        if not a.keep:
            b.clean_up()
        return
    res["limit"] = b.limit()
    for lab, r, config, regex, ignore_ts in verify_jobs:
        log(f"verify: {lab}, {pathlib.Path(config).name}, topics {regex}")
        v = b.verify(config, regex, ignore_ts)
        log(f"verify: {'equal' if v['equal'] else 'NOT EQUAL'} {v}")
        res["verify"][lab].append(v)
        r["markers"] = v.get("markers")
        if v.get("markers"):
            r["records_per_marker"] = v["records"] / v["markers"]
    if a.eos:
        # The proof each exactly-once run wrote transactionally: markers in every one of its
        # replicas (fresh topics, so nothing else put them there), and its transactional ids
        # on the target's coordinators.
        res["transactional"] = {x: all(v.get("markers") for v in res["verify"][x])
                                for x in labels if x.endswith("-eos")}
        ids = b.transactional_ids()
        found = {x: [] for x in labels}
        for lab, kind, alias in runs:
            found[lab] += b.ids_of(kind, alias, ids)
        res["transactional_ids"] = {x: len(v) for x, v in found.items()}
        res["transactional_id_list"] = found
        log(f"transactional ids on the target: {found}")
        for x, ok_ in res["transactional"].items():
            if not ok_:
                log(f"{x}: a replica without transaction markers: it did not run exactly-once")
    res["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if not a.keep:
        log("deleting the run's topics")
        b.clean_up()
    (b.work / "results.json").write_text(json.dumps(res, indent=2, default=str))
    out = chart(a, res)
    table_text = write_report(a, env, res)
    print(table_text)
    log(f"chart: {out}; results: {b.work / 'results.json'}; appended to BENCHMARKS.md")
    failed = False
    if not all(v["equal"] for vs in res["verify"].values() for v in vs):
        log("a replica is not equal to its source: this run does not count")
        failed = True
    if a.eos and not all(res["transactional"].values()):
        log("an exactly-once run wrote without transactions: this run does not count")
        failed = True
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
