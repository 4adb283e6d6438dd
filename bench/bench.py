#!/usr/bin/env python3
"""Strait vs the real MirrorMaker 2 on the test bed: catch-up, steady-state latency, the
target's own ingest limit, then `strait verify` on every replica. Start it with bench/run.sh,
which builds the binaries and the Python venv; see bench/README.md for what is measured."""

import argparse
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


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def testbed_env():
    env = {}
    for line in (ROOT / "testbed" / "run" / "env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


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

    def strait_yaml(self, alias, topics_regex, tasks):
        e, tag = self.env, f"{self.args.run_id}-{alias}"
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
    topics: "{topics_regex}"
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
        path = self.work / f"{alias}.yaml"
        path.write_text(text)
        path.chmod(0o600)
        return path

    def mm2_properties(self, alias, topics_regex, tasks):
        e = self.env
        producer = "".join(f"target.producer.{k} = {v}\n" for k, v in MM2_PRODUCER.items())
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

    def start(self, kind, alias, topics_regex):
        tasks = self.args.mm2_tasks or self.args.topics * self.args.partitions
        if kind == "strait":
            cfg = self.strait_yaml(alias, topics_regex, tasks)
            logf = open(self.work / f"{alias}.log", "w")
            proc = subprocess.Popen([self.args.strait_bin, "run", "-f", str(cfg)], stdout=logf,
                                    stderr=logf, env={**os.environ, "STRAIT_LOG": "info,librdkafka=warn"})
            return {"kind": kind, "alias": alias, "pid": proc.pid, "proc": proc, "config": cfg}
        cfg = self.mm2_properties(alias, topics_regex, tasks)
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

    # ---- phases ----

    def catch_up(self, kind, alias, topics):
        a = self.args
        remote = [f"{alias}.{t}" for t in topics]
        self.made["target"].update(remote)
        log(f"catch-up: {kind} ({alias}) replicating {a.records} records")
        t0 = time.time()
        r = self.start(kind, alias, f"bench-{a.run_id}-cu-.*")
        watch = Watch(r["pid"])
        watch.start()
        try:
            w = self.tool("wait", "--bootstrap", self.tgt, "--topics", ",".join(remote),
                          "--total", a.records, "--timeout", a.timeout)
            cpu, rss = watch.finish()
        finally:
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
        log(f"catch-up: {kind}: {res['mb_s']:.1f} MB/s over {res['transfer_s']:.1f} s "
            f"(wall {res['wall_s']:.1f} s), {cpu:.1f} CPU s, peak RSS {rss:.0f} MiB")
        return res

    def steady(self, kind, alias, k):
        a = self.args
        topics = [f"bench-{a.run_id}-ss-{kind}{k}-{i}" for i in range(a.topics)]
        remote = [f"{alias}.{t}" for t in topics]
        # Append times on both sides: latency = target append time - source append time.
        self.create(self.src, topics, a.partitions, "message.timestamp.type=LogAppendTime")
        self.create(self.tgt, remote, a.partitions, "message.timestamp.type=LogAppendTime")
        log(f"steady: {kind} ({alias}) at {a.rate} records/s for {a.seconds} s")
        r = self.start(kind, alias, f"bench-{a.run_id}-ss-{kind}{k}-.*")
        watch = Watch(r["pid"])
        watch.start()
        try:
            # Warm-up until the replicator delivers, so start-up is not counted as latency.
            warm = self.tool("steady", "--bootstrap", self.src, "--topics", ",".join(topics),
                             "--partitions", a.partitions, "--rate", a.rate, "--seconds", 3,
                             "--prefix", "w", "--value-size", a.value_size)
            self.tool("wait", "--bootstrap", self.tgt, "--topics", ",".join(remote),
                      "--total", warm["sent"], "--timeout", a.timeout)
            cpu0, t0 = watch.cpu_now(), time.time()
            m = self.tool("steady", "--bootstrap", self.src, "--topics", ",".join(topics),
                          "--partitions", a.partitions, "--rate", a.rate, "--seconds", a.seconds,
                          "--prefix", "m", "--value-size", a.value_size)
            cpu1, t1 = watch.cpu_now(), time.time()
            self.tool("wait", "--bootstrap", self.tgt, "--topics", ",".join(remote),
                      "--total", warm["sent"] + m["sent"], "--timeout", a.timeout)
            watch.finish()
        finally:
            self.stop(r)
        lat = self.tool("latency", "--source", self.src, "--target", self.tgt, "--pairs",
                        ",".join(f"{t}={rt}" for t, rt in zip(topics, remote)), "--prefix", "m")
        res = {**lat, "sent": m["sent"], "cpu_cores": (cpu1 - cpu0) / max(t1 - t0, 1e-3),
               "config": str(r["config"]), "topics_regex": f"bench-{a.run_id}-ss-{kind}{k}-.*"}
        log(f"steady: {kind}: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms, "
            f"{res['cpu_cores']:.2f} cores")
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
        return {"equal": report["equal"] and out.returncode == 0, "exit": out.returncode,
                "partitions": s["partitions"], "records": s["source_records"], "seconds": s["seconds"],
                "different": [f"{p['topic']}/{p['partition']}: {p['status']} {p.get('problems')}"
                              for p in report["partitions"] if p["status"] != "equal"]}


# --------------------------------------------------------------------------------------------
# the report


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


def write_report(args, env, res):
    s, m = res["catch_up"]["strait"], res["catch_up"]["mm2"]
    ss, sm = res["steady"]["strait"], res["steady"]["mm2"]
    agg = lambda runs, key: median([r[key] for r in runs])
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
    mach, lim = res["machine"], res["limit"]
    value_mib = args.records * args.value_size / 2**20
    lines = [
        f"\n## {res['started']} — run `{args.run_id}`{' (quick)' if args.quick else ''}\n",
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
        f"topics, alternating ({args.rounds} round{'s' if args.rounds > 1 else ''}, median shown). "
        f"Strait: `strait run`, defaults (target producer lz4, linger.ms 5, acks all, "
        f"idempotent). MM2: dedicated mode, tasks.max {args.mm2_tasks or args.topics * args.partitions}, "
        f"target producer {', '.join(f'{k} {v}' for k, v in MM2_PRODUCER.items())} "
        f"(Connect's acks all), heap {os.environ.get('STRAIT_MM2_HEAP', '1g')}, heartbeats and "
        f"checkpoints off. Limit: ProducerPerformance, one producer over SASL_SSL, acks all, "
        f"{', '.join(f'{k} {v}' for k, v in LIMIT_PRODUCER.items())}. MB = 10^6 bytes of values.",
        "",
        "| figure | Strait | MM2 | Strait/MM2 |",
        "|---|---:|---:|---:|",
    ]
    for label, key, fmt, a, b in rows:
        x, y = agg(a, key), agg(b, key)
        lines.append(f"| {label} | {fmt.format(x)} | {fmt.format(y)} | {ratio(x, y)} |")
    smb, mmb = agg(s, "mb_s"), agg(m, "mb_s")
    lines.append(f"| target ingest limit, ProducerPerformance (MB/s) | {lim['mb_s']:.1f} | | |")
    lines.append(f"| catch-up throughput as a fraction of the limit | {smb / lim['mb_s']:.2f} | "
                 f"{mmb / lim['mb_s']:.2f} | |")
    v = res["verify"]
    ok = lambda k: all(x["equal"] for x in v[k])
    lines.append(f"| `strait verify` of every replica | {'equal' if ok('strait') else 'NOT EQUAL'} | "
                 f"{'equal' if ok('mm2') else 'NOT EQUAL'} | |")
    targets = [
        ("catch-up throughput ≥ 2× MM2", smb >= 2 * mmb),
        ("CPU s/GiB ≤ 0.3× MM2", agg(s, "cpu_s_per_gib") <= 0.3 * agg(m, "cpu_s_per_gib")),
        ("peak RSS ≤ 0.1× MM2", agg(s, "peak_rss_mib") <= 0.1 * agg(m, "peak_rss_mib")),
        ("p99 latency ≤ 0.5× MM2", agg(ss, "p99_ms") <= 0.5 * agg(sm, "p99_ms")),
    ]
    lines += ["", "Issue 6 targets: " + "; ".join(f"{t}: {'met' if ok_ else '**not met**'}"
                                                  for t, ok_ in targets) + ".", "",
              f"![throughput and latency](bench/results/{args.run_id}/chart.png)", ""]
    path = ROOT / "BENCHMARKS.md"
    if not path.exists():
        path.write_text("# Benchmarks: Strait vs MirrorMaker 2\n\nAppended by `bench/run.sh`; "
                        "see `bench/README.md` for what each figure means.\n")
    with path.open("a") as f:
        f.write("\n".join(lines))
    return "\n".join(lines)


def chart(args, res):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s, m = res["catch_up"]["strait"], res["catch_up"]["mm2"]
    ss, sm = res["steady"]["strait"], res["steady"]["mm2"]
    agg = lambda runs, key: median([r[key] for r in runs])
    fig, ax = plt.subplots(1, 4, figsize=(15, 4))
    colors = ["#1f77b4", "#ff7f0e", "#7f7f7f"]
    ax[0].bar(["Strait", "MM2", "target limit"], [agg(s, "mb_s"), agg(m, "mb_s"), res["limit"]["mb_s"]],
              color=colors)
    ax[0].set_title("catch-up throughput (MB/s)")
    x = range(3)
    w = 0.38
    keys = ["p50_ms", "p99_ms", "max_ms"]
    ax[1].bar([i - w / 2 for i in x], [agg(ss, k) for k in keys], w, label="Strait", color=colors[0])
    ax[1].bar([i + w / 2 for i in x], [agg(sm, k) for k in keys], w, label="MM2", color=colors[1])
    ax[1].set_xticks(list(x), ["p50", "p99", "max"])
    ax[1].set_title(f"end-to-end latency at {args.rate} rec/s (ms)")
    ax[1].legend()
    ax[2].bar(["Strait", "MM2"], [agg(s, "cpu_s_per_gib"), agg(m, "cpu_s_per_gib")], color=colors[:2])
    ax[2].set_title("CPU seconds per GiB")
    ax[3].bar(["Strait", "MM2"], [agg(s, "peak_rss_mib"), agg(m, "peak_rss_mib")], color=colors[:2])
    ax[3].set_title("peak RSS (MiB)")
    fig.suptitle(f"Strait vs MirrorMaker 2 — {args.topics}×{args.partitions} partitions, "
                 f"{args.records} × {args.value_size} B records (run {args.run_id})")
    fig.tight_layout()
    out = RESULTS / args.run_id / "chart.png"
    fig.savefig(out, dpi=100)
    return out


# --------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: about 1-2 minutes")
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
    p.add_argument("--note", default="", help="a remark for the report (e.g. a busy machine)")
    p.add_argument("--strait-bin", required=True)
    p.add_argument("--bench-bin", required=True)
    p.add_argument("--run-id", default=time.strftime("%Y%m%d-%H%M%S"))
    a = p.parse_args()
    d = (2, 2, 150_000, 2000, 10) if a.quick else (4, 4, 2_000_000, 5000, 120)
    for name, default in zip(["topics", "partitions", "records", "rate", "seconds"], d):
        if getattr(a, name) is None:
            setattr(a, name, default)

    env = testbed_env()
    b = Bench(a, env)
    res = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "args": {k: v for k, v in vars(a).items()}, "machine": machine(),
           "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
           "catch_up": {"strait": [], "mm2": []}, "steady": {"strait": [], "mm2": []},
           "verify": {"strait": [], "mm2": []}}

    topics = [f"bench-{a.run_id}-cu-{i}" for i in range(a.topics)]
    b.create(b.src, topics, a.partitions)
    log(f"filling {a.topics}×{a.partitions} partitions with {a.records} records")
    fill = b.tool("fill", "--bootstrap", b.src, "--topics", ",".join(topics), "--partitions",
                  a.partitions, "--records", a.records, "--value-size", a.value_size)
    res["fill"] = fill
    log(f"filled at {fill['records_per_second']:.0f} records/s")

    verify_jobs = []
    for k in range(a.rounds):
        # Alternate who goes first, so drift on the machine hits both.
        order = ["strait", "mm2"] if k % 2 == 0 else ["mm2", "strait"]
        for kind in order:
            alias = f"{kind}r{k}" if kind == "mm2" else f"strait{k}"
            r = b.catch_up(kind, alias, topics)
            res["catch_up"][kind].append(r)
            verify_jobs.append((kind, r["config"], f"bench-{a.run_id}-cu-.*", False))
        for kind in reversed(order):
            alias = f"{kind}ss{k}" if kind == "mm2" else f"straitss{k}"
            r = b.steady(kind, alias, k)
            res["steady"][kind].append(r)
            verify_jobs.append((kind, r["config"], r["topics_regex"], True))
    res["limit"] = b.limit()
    for kind, config, regex, ignore_ts in verify_jobs:
        log(f"verify: {kind}, {pathlib.Path(config).name}, topics {regex}")
        v = b.verify(config, regex, ignore_ts)
        log(f"verify: {'equal' if v['equal'] else 'NOT EQUAL'} {v}")
        res["verify"][kind].append(v)
    res["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if not a.keep:
        log("deleting the run's topics")
        b.clean_up()
    (b.work / "results.json").write_text(json.dumps(res, indent=2, default=str))
    out = chart(a, res)
    table = write_report(a, env, res)
    print(table)
    log(f"chart: {out}; results: {b.work / 'results.json'}; appended to BENCHMARKS.md")
    if not all(v["equal"] for vs in res["verify"].values() for v in vs):
        log("a replica is not equal to its source: this run does not count")
        sys.exit(1)


if __name__ == "__main__":
    main()
