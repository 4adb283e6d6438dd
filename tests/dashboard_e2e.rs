//! The dashboard end to end: a real flow on the test bed, the page in headless Chromium
//! (Debian's `chromium`, driven by `playwright-core` from npm through
//! `tests/e2e/dashboard.mjs`), asserting what the page shows and saving screenshots under
//! `tests/e2e/out/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    Cluster, StraitProcess, Testbed, block_on, commit_as_member, create_topic, produce_samples,
    repo_root, strait_yaml, unique,
};

const PARTITIONS: i32 = 3;

/// Installs playwright-core from the lock file when it is missing.
fn ensure_playwright(dir: &Path) {
    if dir.join("node_modules/playwright-core").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .expect("npm (comes with Node.js)");
    assert!(status.success(), "npm ci in {} failed", dir.display());
}

#[test]
fn dashboard_shows_a_live_flow_and_its_red_state() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("SKIPPED: Node.js is not installed; the dashboard's browser test needs node");
        return;
    }
    let chromium = std::env::var("STRAIT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} not found: install Debian's chromium (scripts/install-deps.sh does)"
    );
    let e2e = repo_root().join("tests/e2e");
    ensure_playwright(&e2e);

    let tb = Testbed::get();
    let source = tb.plaintext_config(Cluster::Source);
    let topic = unique("e2e");
    block_on(create_topic(&source, &topic, PARTITIONS));
    produce_samples(&source, &topic, PARTITIONS, 0, 300);
    let group = unique("e2e-group");
    let offsets: Vec<(i32, i64, &str)> = (0..PARTITIONS).map(|p| (p, 50, "")).collect();
    commit_as_member(&source, &group, &topic, &offsets);

    // Replication plus the checkpointer, so the page has a consumer group to show.
    let yaml = strait_yaml(&tb, &topic, &unique("e2e-strait"), &unique("e2e-offsets")).replace(
        "    connectors: [source]\n",
        &format!(
            "    connectors: [source, checkpoint]\n    groups: \"{group}\"\n    \
             emit.checkpoints.interval.seconds: 1\n    refresh.groups.interval.seconds: 1\n    \
             sync.group.offsets.enabled: true\n    checkpoints.topic.replication.factor: 1\n"
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strait.yaml");
    std::fs::write(&config, yaml).unwrap();
    let mut strait = StraitProcess::start_with(
        &config,
        &dir.path().join("strait.log"),
        &[],
        &["--http-addr", "127.0.0.1:0"],
        &[],
    );
    let addr = strait.http_addr(Duration::from_secs(30));

    let spec = serde_json::json!({
        "topic": format!("source.{topic}"),
        "partitions": PARTITIONS,
        "first": [100, 100, 100],
        "then": [110, 110, 110],
        "group": group,
        "screenshots": e2e.join("out").display().to_string(),
    });
    let mut node = Command::new("node")
        .arg(e2e.join("dashboard.mjs"))
        .arg(format!("http://{addr}/"))
        .arg(spec.to_string())
        .env("STRAIT_CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    let stdout = node.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            println!("[dashboard.mjs] {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut produced_more = false;
    let status = loop {
        while let Ok(line) = rx.try_recv() {
            if line == "READY-FOR-MORE" && !produced_more {
                produce_samples(&source, &topic, PARTITIONS, 300, 30);
                produced_more = true;
            }
        }
        if let Some(s) = node.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            panic!(
                "the dashboard test did not finish in time; strait log:\n{}",
                strait.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(produced_more, "the page never showed the first records");
    assert!(
        status.success(),
        "dashboard checks failed; strait log:\n{}",
        strait.log_text()
    );
    assert!(e2e.join("out/dashboard.png").exists());
    assert!(e2e.join("out/dashboard-stuck.png").exists());
    strait.signal("TERM");
    assert_eq!(strait.wait(Duration::from_secs(60)), Some(0));
}
