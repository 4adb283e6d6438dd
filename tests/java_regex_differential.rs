//! Differential test of the Java regex translation (`src/policy/java_regex.rs`) against Java
//! itself: every pattern below is compiled by `java.util.regex.Pattern` (tests/java/
//! RegexOracle.java, run on the machine's JDK) and by Strait's filter, and every name is
//! matched whole by both, as MirrorMaker 2 filters topics and groups. The two must agree on
//! which patterns are refused and on every match, except for the refusals documented in
//! java_regex.rs (constructs with no faithful rewrite, listed in `REFUSED_BY_STRAIT_ONLY`).
//!
//! Needs `java` (17+) on the PATH, as the rest of the suite does; no Kafka.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write as _;
use std::process::{Command, Stdio};

use strait::policy::filters::PatternList;

/// Patterns covering each construct java_regex.rs rewrites, keeps or refuses.
const PATTERNS: &[&str] = &[
    // everyday filters
    ".*",
    "topic.*",
    "orders|payments",
    "a+b?c*",
    "[a-z]+",
    "[^.]+\\.internal",
    "(foo|bar)-\\d+",
    "x{2,3}",
    "x{2}",
    "x{2,}",
    ".*\\.checkpoints\\.internal",
    "(?!__).*",
    "^topic$",
    "mm2.*\\.internal|heartbeats",
    "a.c",
    // predefined classes are ASCII-only in Java
    "\\w+",
    "\\W+",
    "\\d+",
    "\\D+",
    "\\s",
    "\\S+",
    "\\h",
    "\\H+",
    "\\v",
    "\\V+",
    "[\\w.]+",
    "[^\\d]+",
    // POSIX classes
    "\\p{Lower}+",
    "\\p{Upper}+",
    "\\p{Alpha}+",
    "\\p{Digit}+",
    "\\p{Alnum}+",
    "\\p{Punct}+",
    "\\p{Space}",
    "\\P{Alpha}+",
    "\\p{L}+",
    "\\p{IsAlphabetic}+",
    // quoting and escapes of punctuation
    "\\Qa.b\\E",
    "\\Q.*",
    "\\Qa\\E.\\Qb\\E",
    "a\\-b",
    "a\\.b",
    "\\<a\\>",
    "\\`a",
    "a\\'",
    "\\\\",
    "a\\ b",
    "\\#x",
    // numeric escapes
    "\\cA",
    "\\0101",
    "\\011",
    "\\u0041",
    "\\x41",
    "\\x{41}",
    "\\x{1F600}",
    "\\uD83D\\uDE00",
    "\\t",
    "\\e",
    "\\a",
    "\\f",
    // groups, back-references, look-arounds, possessive, atomic
    "(a)\\1",
    "(a)(b)\\2\\1",
    "(a)\\12",
    "(?<name>a)\\k<name>",
    "(?<a1>a)\\k<a1>",
    "a++",
    "a*+a",
    "(?>a|ab)c",
    "(?:ab)+",
    "(?=a)\\w+",
    "\\w+(?<!x)",
    // inline flags
    "(?i)topic",
    "(?i:ab)c",
    "(?-i)a",
    "(?x) a b # comment",
    "(?x)a\\ b",
    "(?x)[ a]b",
    "(?d).*",
    "(?u)a",
    "(?U)\\w+",
    "(?s).*",
    "(?m)a",
    // UNICODE_CHARACTER_CLASS, scoped like any flag
    "(?U)\\d+",
    "(?U)\\s",
    "(?U)\\W+",
    "(?U)\\p{Lower}+",
    "(?U)\\p{Upper}+",
    "(?U)\\p{Alpha}+",
    "(?U)\\p{Alnum}+",
    "(?U)\\p{Digit}+",
    "(?U)\\p{Punct}+",
    "(?U)\\P{Alpha}+",
    "(?U)[\\w.]+",
    "(?U:\\w)\\w*",
    "(?U)(?-U)\\w+",
    "((?U)\\w)\\w*",
    // character class corners
    "[~]",
    "[a~b]+",
    "[[:alpha:]]+",
    "[]a]+",
    "[a-c&&b]",
    "[a-z&&[^b]]+",
    "[a[b]]+",
    "[-a]+",
    "[a-]+",
    "[.]",
    "[\\]]",
    "[\\Q]\\E]",
    // refused by Java (and so by Strait)
    "a{",
    "a{1",
    "a{2,1}",
    "a{,2}",
    "x{a}",
    "\\y",
    "\\",
    "(",
    ")",
    "[a",
    "a)|(b",
    "*a",
    "a**",
    "\\k<nope>",
    "\\u00zz",
    "\\x4",
    "\\08",
    "(?<1a>x)",
    "(?<a_b>x)",
    "(?<é>x)",
    // accepted by Java, refused by Strait (no faithful rewrite; see REFUSED_BY_STRAIT_ONLY)
    "\\p{javaLowerCase}+",
    "\\p{InGreek}",
    "[a--]",
    "\\N{LATIN SMALL LETTER A}",
];

/// Java accepts these, Strait refuses them with a reason rather than change their meaning.
const REFUSED_BY_STRAIT_ONLY: &[&str] = &[
    "\\p{javaLowerCase}+",
    "\\p{InGreek}",
    "[a--]",
    "\\N{LATIN SMALL LETTER A}",
];

/// Names every pattern is matched against: topic-like names, and characters where the two
/// engines' defaults differ (non-ASCII letters and digits, escapes, punctuation). Carriage
/// returns and Unicode line separators are left out: `.` and `$` treat them differently, a
/// difference java_regex.rs documents and topic names cannot contain.
const NAMES: &[&str] = &[
    "",
    "topic",
    "Topic",
    "TOPIC",
    "topic.a",
    "orders",
    "payments",
    "__consumer_offsets",
    "source.checkpoints.internal",
    "mm2-offset-syncs.target.internal",
    "heartbeats",
    "foo-12",
    "bar-x",
    "a",
    "A",
    "aa",
    "aaa",
    "ab",
    "abab",
    "aba",
    "abc",
    "ac",
    "abbc",
    "a.b",
    "a-b",
    "a b",
    "a.c",
    "axc",
    "a\\b",
    "a\\'",
    "\\",
    "b",
    "ba",
    "c",
    "bc",
    "abcab",
    "xx",
    "xxx",
    "xxxx",
    "x{a}",
    "123",
    "1",
    "-",
    "~",
    "]",
    "]a",
    "[",
    ".",
    "*",
    ":",
    "#x",
    "<a>",
    "`a",
    "\t",
    " ",
    "\u{b}",
    "\u{a0}",
    "\u{1}",
    "\u{1b}",
    "\u{7}",
    "\u{c}",
    "\t\u{9}",
    "\u{41}",
    "\u{9}",
    "é",
    "été",
    "Ω",
    "١٢٣",
    "😀",
    "a😀",
    "a\n",
    "a\nb",
    "ab\n",
    "__x",
    "xa",
];

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Java's answers: per pattern, `None` when Java refuses it, else one bool per name.
fn java_answers() -> Vec<Option<Vec<bool>>> {
    let oracle =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/RegexOracle.java");
    let mut child = Command::new("java")
        .arg(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run java (needed for this test): {e}"));
    let mut input = String::new();
    for pattern in PATTERNS {
        input.push_str(&hex(pattern));
        for name in NAMES {
            input.push(' ');
            input.push_str(&hex(name));
        }
        input.push('\n');
    }
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("writing the cases to java");
    let out = child.wait_with_output().expect("java runs");
    assert!(out.status.success(), "RegexOracle.java failed");
    let text = String::from_utf8(out.stdout).expect("UTF-8 from java");
    let answers: Vec<Option<Vec<bool>>> = text
        .lines()
        .map(|l| (l != "error").then(|| l.chars().map(|c| c == '1').collect()))
        .collect();
    assert_eq!(answers.len(), PATTERNS.len(), "one answer per pattern");
    answers
}

#[test]
fn strait_matches_what_java_matches() {
    let java = java_answers();
    let mut disagreements = Vec::new();
    for (pattern, java) in PATTERNS.iter().zip(java) {
        let strait = PatternList::new("topics", &[(*pattern).to_owned()]);
        let strait_only = REFUSED_BY_STRAIT_ONLY.contains(pattern);
        match (java, strait) {
            (None, Err(_)) => {}
            (None, Ok(_)) => {
                disagreements.push(format!("{pattern:?}: Java refuses it, Strait accepts it"))
            }
            (Some(_), Err(e)) if strait_only => {
                assert!(
                    !e.to_string().is_empty(),
                    "{pattern:?}: refusal without a reason"
                );
            }
            (Some(_), Err(e)) => {
                disagreements.push(format!(
                    "{pattern:?}: Java accepts it, Strait refuses it: {e}"
                ));
            }
            (Some(_), Ok(_)) if strait_only => {
                disagreements.push(format!("{pattern:?}: expected Strait to refuse it"));
            }
            (Some(expected), Ok(list)) => {
                for (name, java_matches) in NAMES.iter().zip(expected) {
                    if list.matches(name) != java_matches {
                        disagreements.push(format!(
                            "{pattern:?} on {name:?}: Java {java_matches}, Strait {}",
                            !java_matches
                        ));
                    }
                }
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) with java.util.regex:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
