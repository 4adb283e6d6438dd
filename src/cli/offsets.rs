//! `strait offsets translate` and `strait offsets apply`: failover tooling for consumer groups.
//! Both read the flow's checkpoints on the target (what Java's
//! `RemoteClusterUtils.translateOffsets` reads), so they work when the source is gone.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use strait::checkpoint::failover::{ApplyPlan, FailoverClient};
use strait::config::{FlowConfig, LoadOptions, load_with};
use strait::status::checkpoint::PartitionStatus;

use super::{EXIT_FAILURE, EXIT_INVALID_CONFIG};

/// Arguments of `strait offsets`.
#[derive(Debug, clap::Args)]
pub struct OffsetsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: OffsetsCommand,
}

/// `strait offsets` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OffsetsCommand {
    /// Print the target offsets a consumer group should use after failing over (its newest
    /// checkpoints).
    Translate(TranslateArgs),
    /// Show, then with --execute write, the group's translated offsets to the group on the
    /// target. Refuses a group with active members; never moves a partition backwards.
    Apply(ApplyArgs),
}

/// What both subcommands share.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Configuration files, as for `run`.
    #[arg(short = 'f', long = "config", required = true)]
    pub config: Vec<PathBuf>,
    /// The flow (`source->target`) when the configuration has several.
    #[arg(long)]
    pub flow: Option<String>,
    /// The consumer group.
    #[arg(long)]
    pub group: String,
    /// Only these topics (source or target names). Repeatable.
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `strait offsets translate`.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    /// Shared arguments.
    #[command(flatten)]
    pub common: Common,
    /// Translate the group's current offsets on the source now (needs the source cluster),
    /// showing Strait's translation next to MM2's rule.
    #[arg(long)]
    pub live: bool,
}

/// Arguments of `strait offsets apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Shared arguments.
    #[command(flatten)]
    pub common: Common,
    /// Write the offsets. Without it nothing is written: the plan is shown (a dry run).
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Only show what would change (the default; accepted for scripts written before
    /// --execute).
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `strait offsets ...`: 0 on success, 1 on failure or refusal, 2 on invalid
/// configuration.
pub fn offsets(args: &OffsetsArgs, options: &LoadOptions) -> ExitCode {
    let common = match &args.command {
        OffsetsCommand::Translate(a) => &a.common,
        OffsetsCommand::Apply(a) => &a.common,
    };
    let flow = match pick_flow(common, options) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    let client = match FailoverClient::new(&flow) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let result = match &args.command {
        OffsetsCommand::Translate(a) if a.live => live(&client, &flow, common),
        OffsetsCommand::Translate(_) => translate(&client, &flow, common),
        OffsetsCommand::Apply(a) => apply(&client, &flow, common, a.execute),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The flow named by `--flow`, or the only one (preferring the only one with checkpoints).
fn pick_flow(common: &Common, options: &LoadOptions) -> Result<FlowConfig, String> {
    let loaded =
        load_with(&common.config, options).map_err(|e| format!("invalid configuration: {e}"))?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let flows = loaded.config.flows;
    let names: Vec<String> = flows.iter().map(FlowConfig::name).collect();
    if let Some(wanted) = &common.flow {
        return flows
            .into_iter()
            .find(|f| &f.name() == wanted)
            .ok_or_else(|| format!("no flow '{wanted}' (flows: {})", names.join(", ")));
    }
    let with_checkpoints: Vec<&FlowConfig> = flows
        .iter()
        .filter(|f| f.checkpoint_connector.is_some())
        .collect();
    match (flows.len(), with_checkpoints.as_slice()) {
        (0, _) => Err("the configuration has no flow".to_owned()),
        (1, _) => Ok(flows[0].clone()),
        (_, [one]) => Ok((*one).clone()),
        _ => Err(format!(
            "several flows ({}): choose one with --flow",
            names.join(", ")
        )),
    }
}

#[derive(Serialize)]
struct TranslateOut<'a> {
    flow: String,
    group: &'a str,
    checkpoints_topic: &'a str,
    offsets: Vec<OffsetOut>,
}

#[derive(Serialize)]
struct OffsetOut {
    topic: String,
    partition: i32,
    offset: i64,
    upstream_offset: i64,
    metadata: String,
}

fn translate(client: &FailoverClient, flow: &FlowConfig, c: &Common) -> Result<(), String> {
    let checkpoints = client
        .checkpoints(&c.group, &c.topics)
        .map_err(|e| e.to_string())?;
    let out = TranslateOut {
        flow: flow.name(),
        group: &c.group,
        checkpoints_topic: client.checkpoints_topic(),
        offsets: checkpoints
            .into_iter()
            .map(|cp| OffsetOut {
                topic: cp.topic,
                partition: cp.partition,
                offset: cp.downstream_offset,
                upstream_offset: cp.upstream_offset,
                metadata: cp.metadata,
            })
            .collect(),
    };
    if c.json {
        return print_json(&out);
    }
    if out.offsets.is_empty() {
        eprintln!(
            "no checkpoints for group '{}' in {} on the target",
            c.group,
            client.checkpoints_topic()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = out
        .offsets
        .iter()
        .map(|o| {
            vec![
                o.topic.clone(),
                o.partition.to_string(),
                o.offset.to_string(),
                o.upstream_offset.to_string(),
                o.metadata.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "TOPIC",
            "PARTITION",
            "TARGET OFFSET",
            "SOURCE OFFSET",
            "METADATA",
        ],
        &rows,
    );
    Ok(())
}

fn live(client: &FailoverClient, flow: &FlowConfig, c: &Common) -> Result<(), String> {
    let partitions = client
        .live(&c.group, &c.topics)
        .map_err(|e| e.to_string())?;
    if c.json {
        #[derive(Serialize)]
        struct LiveOut<'a> {
            flow: String,
            group: &'a str,
            partitions: &'a [PartitionStatus],
        }
        return print_json(&LiveOut {
            flow: flow.name(),
            group: &c.group,
            partitions: &partitions,
        });
    }
    let opt = |o: Option<i64>| o.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let rows: Vec<Vec<String>> = partitions
        .iter()
        .map(|p| {
            let how = match (p.kind, p.untranslated) {
                (Some(k), _) => serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                (None, Some(u)) => serde_json::to_value(u)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                (None, None) => "-".to_owned(),
            };
            vec![
                p.downstream_topic.clone(),
                p.partition.to_string(),
                p.committed.to_string(),
                opt(p.translated),
                how,
                opt(p.mm2),
                opt(p.checkpoint),
            ]
        })
        .collect();
    print_table(
        &[
            "TOPIC",
            "PARTITION",
            "SOURCE OFFSET",
            "TARGET OFFSET",
            "HOW",
            "MM2 RULE",
            "CHECKPOINT",
        ],
        &rows,
    );
    Ok(())
}

fn apply(
    client: &FailoverClient,
    flow: &FlowConfig,
    c: &Common,
    execute: bool,
) -> Result<(), String> {
    let plan = client
        .plan_apply(&c.group, &c.topics)
        .map_err(|e| e.to_string())?;
    if let Some(why) = &plan.refused {
        // The refusal is the whole answer: the group's partitions were not compared.
        if c.json {
            #[derive(Serialize)]
            struct RefusedOut<'a> {
                flow: String,
                group: &'a str,
                target_state: String,
                refused: &'a str,
            }
            print_json(&RefusedOut {
                flow: flow.name(),
                group: &plan.group,
                target_state: plan.target_state.to_string(),
                refused: why,
            })?;
        }
        return Err(why.clone());
    }
    if !c.json {
        print_plan(&plan, execute);
    }
    let written = if execute && !plan.changes.is_empty() {
        client.apply(&plan).map_err(|e| e.to_string())?;
        true
    } else {
        false
    };
    if c.json {
        #[derive(Serialize)]
        struct ApplyOut<'a> {
            flow: String,
            dry_run: bool,
            written: bool,
            #[serde(flatten)]
            plan: &'a ApplyPlan,
        }
        print_json(&ApplyOut {
            flow: flow.name(),
            dry_run: !execute,
            written,
            plan: &plan,
        })?;
    }
    // In JSON mode the notes go to stderr, so stdout stays one JSON document.
    let note = |text: String| {
        if c.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    };
    let n = plan.changes.len();
    let has_checkpoints = n > 0 || !plan.ahead.is_empty() || plan.unchanged > 0;
    if !has_checkpoints {
        // Already said (or visible in the JSON): there is nothing to apply.
    } else if written {
        note(format!(
            "wrote {n} offsets to group '{}' on the target",
            plan.group
        ));
    } else if n == 0 {
        note("nothing to write".to_owned());
    } else {
        note(format!(
            "dry run: nothing was written. To write these {n} offsets to group '{}' on the \
             target, run again with --execute.",
            plan.group
        ));
    }
    Ok(())
}

fn print_plan(plan: &ApplyPlan, execute: bool) {
    println!(
        "group '{}' on the target: {}",
        plan.group, plan.target_state
    );
    if plan.changes.is_empty() && plan.ahead.is_empty() && plan.unchanged == 0 {
        println!("no checkpoints for this group: nothing to apply");
        return;
    }
    let mut rows: Vec<Vec<String>> = plan
        .changes
        .iter()
        .map(|ch| {
            vec![
                ch.topic.clone(),
                ch.partition.to_string(),
                ch.from.map_or_else(|| "-".to_owned(), |f| f.to_string()),
                ch.to.to_string(),
                age(ch.checkpoint_age_ms),
                if execute { "write" } else { "would write" }.to_owned(),
            ]
        })
        .collect();
    rows.extend(plan.ahead.iter().map(|a| {
        vec![
            a.topic.clone(),
            a.partition.to_string(),
            a.target.to_string(),
            a.checkpoint.to_string(),
            age(a.checkpoint_age_ms),
            "kept: target is ahead".to_owned(),
        ]
    }));
    if !rows.is_empty() {
        print_table(
            &[
                "TOPIC",
                "PARTITION",
                "CURRENT",
                "NEW",
                "CHECKPOINT AGE",
                "ACTION",
            ],
            &rows,
        );
    }
    if plan.unchanged > 0 {
        println!("{} partitions already at their checkpoint", plan.unchanged);
    }
}

/// A checkpoint's age for people: `42s`, `5m07s`, `3h02m`, `2d04h`; `-` when unknown.
fn age(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "-".to_owned();
    };
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

fn print_json(value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(None), "-");
        assert_eq!(age(Some(-5)), "0s");
        assert_eq!(age(Some(999)), "0s");
        assert_eq!(age(Some(42_000)), "42s");
        assert_eq!(age(Some(307_000)), "5m07s");
        assert_eq!(age(Some(3 * 3_600_000 + 120_000)), "3h02m");
        assert_eq!(age(Some(2 * 86_400_000 + 4 * 3_600_000)), "2d04h");
    }
}
