//! Typed access to resolved [`Settings`] with Kafka's parsing rules (BOOLEAN, INT, LONG, LIST),
//! errors that name the key, and a record of which keys were read so the rest can be reported.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use super::error::{ConfigError, Origin};
use super::settings::{Setting, Settings};

/// Reads keys of one settings map (one connector, one cluster, ...).
#[derive(Debug)]
pub(crate) struct KeyReader<'a> {
    settings: &'a Settings,
    at: Origin,
    used: RefCell<BTreeSet<String>>,
}

impl<'a> KeyReader<'a> {
    /// A reader over `settings`; `at` names the file/document/object they belong to.
    pub(crate) fn new(settings: &'a Settings, at: Origin) -> Self {
        Self {
            settings,
            at,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// Where `key` comes from, with the user's spelling of it.
    pub(crate) fn at(&self, key: &str) -> Origin {
        match self.settings.get(key) {
            Some(s) => self.at.clone().with_key_as(key, s.written_as.clone()),
            None => self.at.clone().with_key(key),
        }
    }

    /// An [`ConfigError::Invalid`] about `key`.
    pub(crate) fn error(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.at(key), reason)
    }

    /// The setting under `key`, marking it as read.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Setting> {
        let s = self.settings.get(key)?;
        self.used.borrow_mut().insert(key.to_owned());
        Some(s)
    }

    /// The value under `key`, marking it as read.
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(|s| s.value.as_str())
    }

    /// The trimmed value under `key`, `None` when absent or blank.
    pub(crate) fn non_blank(&self, key: &str) -> Option<&'a str> {
        self.str(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Whether `key` is set (does not mark it as read).
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.settings.contains_key(key)
    }

    /// The value of `key` for a message: `[redacted]` when it is sensitive, e.g. when a
    /// Secret supplied it.
    pub(crate) fn shown(&self, key: &str) -> String {
        self.settings
            .get(key)
            .map_or_else(String::new, |s| s.shown().trim().to_owned())
    }

    /// Whether `key` was read or marked.
    pub(crate) fn is_used(&self, key: &str) -> bool {
        self.used.borrow().contains(key)
    }

    /// Marks `key` as handled without reading it.
    pub(crate) fn mark_used(&self, key: &str) {
        self.used.borrow_mut().insert(key.to_owned());
    }

    /// `key` with a Kafka BOOLEAN value (`true`/`false`, any case), or `default`.
    pub(crate) fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        let Some(s) = self.get(key) else {
            return Ok(default);
        };
        match s.value.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.error(
                key,
                format!("'{}' is not a boolean (expected true or false)", s.shown()),
            )),
        }
    }

    /// `key` as a number of type `T` no smaller than `min`, or `default`.
    pub(crate) fn number<T>(&self, key: &str, default: T, min: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(s) = self.get(key) else {
            return Ok(default);
        };
        let v: T = s.value.trim().parse().map_err(|_| {
            self.error(
                key,
                format!(
                    "'{}' is not a valid {} (expected an integer)",
                    s.shown(),
                    std::any::type_name::<T>()
                ),
            )
        })?;
        if v < min {
            return Err(self.error(key, format!("{v} is too small (minimum {min})")));
        }
        Ok(v)
    }

    /// A replication factor: a positive number or -1 (the broker's default).
    pub(crate) fn replication_factor(&self, key: &str, default: i16) -> Result<i16, ConfigError> {
        let v = self.number(key, default, -1)?;
        if v == 0 {
            return Err(self.error(
                key,
                "0 is not a valid replication factor (use -1 for the broker default)",
            ));
        }
        Ok(v)
    }

    /// An MM2 `*.interval.seconds` key. MM2 skips a scheduled job whose interval is negative,
    /// so a negative value gives `None` (disabled); zero is rejected as Java's scheduler does.
    pub(crate) fn interval_seconds(
        &self,
        key: &str,
        default: Duration,
    ) -> Result<Option<Duration>, ConfigError> {
        let Some(s) = self.get(key) else {
            return Ok(Some(default));
        };
        let v: i64 =
            s.value.trim().parse().map_err(|_| {
                self.error(key, format!("'{}' is not a number of seconds", s.shown()))
            })?;
        match v {
            v if v < 0 => Ok(None),
            0 => Err(self.error(
                key,
                "an interval of 0 seconds is not allowed (use a negative value to disable)",
            )),
            v => Ok(Some(Duration::from_secs(v.unsigned_abs()))),
        }
    }

    /// A `*.ms` duration key (non-negative), or `default`.
    pub(crate) fn millis(&self, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        let Some(s) = self.get(key) else {
            return Ok(default);
        };
        let v: u64 = s.value.trim().parse().map_err(|_| {
            self.error(
                key,
                format!("'{}' is not a number of milliseconds", s.shown()),
            )
        })?;
        Ok(Duration::from_millis(v))
    }

    /// A Kafka LIST value, or `default` when absent.
    pub(crate) fn list(&self, key: &str, default: &[&str]) -> Vec<String> {
        match self.str(key) {
            Some(v) => split_list(v),
            None => default.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// A LIST of regular expressions (topic, group or config-name filters), checked with the
    /// same Java-to-Rust regex translation the filters use at run time.
    pub(crate) fn regex_list(
        &self,
        key: &str,
        default: &[&str],
    ) -> Result<Vec<String>, ConfigError> {
        let list = self.list(key, default);
        if let Err(e) = crate::policy::filters::PatternList::new(key, &list) {
            let sensitive = self.settings.get(key).is_some_and(|s| s.sensitive);
            let reason = match e {
                crate::policy::PolicyError::InvalidPattern {
                    pattern, reason, ..
                } if !sensitive => {
                    format!("'{pattern}' is not a valid regular expression: {reason}")
                }
                _ if sensitive => "is not a valid list of regular expressions".to_owned(),
                other => other.to_string(),
            };
            return Err(self.error(key, reason));
        }
        Ok(list)
    }

    /// Every key starting with `prefix`, with its setting (does not mark them as read).
    pub(crate) fn with_prefix<'p>(
        &self,
        prefix: &'p str,
    ) -> impl Iterator<Item = (&'a str, &'a Setting)> + 'p
    where
        'a: 'p,
    {
        self.settings
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// Keys not read nor marked, in order.
    pub(crate) fn unused(&self) -> Vec<&'a str> {
        let used = self.used.borrow();
        self.settings
            .keys()
            .filter(|k| !used.contains(k.as_str()))
            .map(String::as_str)
            .collect()
    }
}

/// Splits a Kafka LIST value: commas with surrounding whitespace; empty text is an empty list.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(|s| s.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Setting::plain(k, *v)))
            .collect()
    }

    #[test]
    fn typed_values_and_unused_keys() {
        let s = settings(&[
            ("a", " TRUE "),
            ("n", "3"),
            ("l", " x , y ,z"),
            ("i", "-1"),
            ("extra", "1"),
        ]);
        let r = KeyReader::new(&s, Origin::file("f"));
        assert!(r.bool("a", false).unwrap());
        assert_eq!(r.number::<u32>("n", 1, 1).unwrap(), 3);
        assert_eq!(r.list("l", &[]), vec!["x", "y", "z"]);
        assert_eq!(
            r.interval_seconds("i", Duration::from_secs(5)).unwrap(),
            None
        );
        assert_eq!(r.list("missing", &["d"]), vec!["d"]);
        assert_eq!(r.unused(), vec!["extra"]);
        assert!(split_list("  ").is_empty());
    }

    #[test]
    fn errors_name_key_and_value_but_hide_secrets() {
        let s = settings(&[
            ("b", "yes"),
            ("ssl.truststore.password", "hunter2"),
            ("r", "a["),
        ]);
        let r = KeyReader::new(&s, Origin::file("f"));
        let e = r.bool("b", false).unwrap_err().to_string();
        assert_eq!(
            e,
            "f, key 'b': 'yes' is not a boolean (expected true or false)"
        );
        let e = r
            .bool("ssl.truststore.password", false)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2") && e.contains("[redacted]"), "{e}");
        let java = settings(&[("t", r"\Qorders.v1\E, a\p{Lower}+")]);
        let j = KeyReader::new(&java, Origin::file("f"));
        assert_eq!(
            j.regex_list("t", &[]).unwrap().len(),
            2,
            "Java-only syntax is accepted"
        );
        let e = r.regex_list("r", &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("f, key 'r': 'a[' is not a valid regular expression"),
            "{e}"
        );
    }
}
