//! Errors and warnings of the configuration readers. Every message says where the problem is
//! (file, YAML document, object, key) and never contains a secret value.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value comes from: file, YAML document, object and key. Any part may
/// be unknown; `Display` prints the parts that are known, e.g.
/// `seed/connectors.yaml, document 2 (KafkaConnector repl/mirror-checkpoint-connector), key 'groups'`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file the value was read from.
    pub file: Option<PathBuf>,
    /// 1-based index of the YAML document in the file (empty documents are not counted).
    pub document: Option<usize>,
    /// The object the value belongs to, e.g. `KafkaConnector repl/mirror-source-connector` or
    /// `flow A->B`.
    pub object: Option<String>,
    /// The configuration key, as the reader interprets it (e.g. `source.cluster.alias`).
    pub key: Option<String>,
    /// The key as the user wrote it, when it differs from `key` (e.g. `A->B.topics` in
    /// `mm2.properties` for the connector key `topics`).
    pub written_as: Option<String>,
}

impl Origin {
    /// An origin naming only a file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self {
            file: Some(path.into()),
            ..Self::default()
        }
    }

    /// This origin with a document index.
    pub fn with_document(mut self, document: usize) -> Self {
        self.document = Some(document);
        self
    }

    /// This origin with an object description.
    pub fn with_object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    /// This origin with a key (and no `written_as`).
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self.written_as = None;
        self
    }

    /// This origin with a key and the spelling the user wrote it with.
    pub fn with_key_as(mut self, key: impl Into<String>, written_as: impl Into<String>) -> Self {
        let key = key.into();
        let written_as = written_as.into();
        self.written_as = (written_as != key).then_some(written_as);
        self.key = Some(key);
        self
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            wrote = true;
        }
        if let Some(doc) = self.document {
            write!(f, "{}document {doc}", if wrote { ", " } else { "" })?;
            wrote = true;
        }
        if let Some(object) = &self.object {
            if wrote {
                write!(f, " ({object})")?;
            } else {
                write!(f, "{object}")?;
            }
            wrote = true;
        }
        if let Some(key) = &self.key {
            write!(f, "{}key '{key}'", if wrote { ", " } else { "" })?;
            if let Some(written) = &self.written_as {
                write!(f, " (set as '{written}')")?;
            }
            wrote = true;
        }
        if !wrote {
            f.write_str("configuration")?;
        }
        Ok(())
    }
}

/// Why the configuration cannot be used. Messages name file, document, object and key, and
/// never include secret values.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid YAML or `.properties` syntax.
    #[error("{at}: syntax error: {reason}")]
    Syntax {
        /// The file (and document, when known).
        at: Box<Origin>,
        /// What the parser said.
        reason: String,
    },
    /// A `${provider:[path:]key}` reference could not be resolved. Unlike Kafka, Strait never
    /// leaves such a reference as literal text or replaces it by an empty string.
    #[error("{at}: cannot resolve {reference}: {reason}")]
    Unresolved {
        /// Where the reference is used.
        at: Box<Origin>,
        /// The reference as written, e.g. `${cfmap:ns/name:key}`.
        reference: String,
        /// Why it cannot be resolved.
        reason: String,
    },
    /// A value is missing, malformed or not supported.
    #[error("{at}: {reason}")]
    Invalid {
        /// Where.
        at: Box<Origin>,
        /// What is wrong and, where useful, what is expected.
        reason: String,
    },
    /// The files describe no replication flow at all.
    #[error("no replication flow found in {files}")]
    NoFlows {
        /// The files read, comma-separated.
        files: String,
    },
}

impl ConfigError {
    /// A [`ConfigError::Invalid`] at `at`.
    pub fn invalid(at: Origin, reason: impl Into<String>) -> Self {
        Self::Invalid {
            at: Box::new(at),
            reason: reason.into(),
        }
    }

    /// A [`ConfigError::Syntax`] in the file `path`.
    pub fn syntax(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Self::Syntax {
            at: Box::new(Origin::file(path)),
            reason: reason.into(),
        }
    }
}

/// Something Strait accepts but does not do exactly as Kafka would (a key it ignores, a setting
/// with no equivalent), reported so it is never silently ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Where.
    pub at: Origin,
    /// What Strait does instead.
    pub message: String,
}

impl ConfigWarning {
    /// A warning at `at`.
    pub fn new(at: Origin, message: impl Into<String>) -> Self {
        Self {
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_names_every_known_part() {
        let at = Origin::file("c.yaml")
            .with_document(2)
            .with_object("KafkaConnector repl/src")
            .with_key("topics");
        assert_eq!(
            at.to_string(),
            "c.yaml, document 2 (KafkaConnector repl/src), key 'topics'"
        );
        let at = Origin::file("mm2.properties")
            .with_object("flow A->B")
            .with_key_as("topics", "A->B.topics");
        assert_eq!(
            at.to_string(),
            "mm2.properties (flow A->B), key 'topics' (set as 'A->B.topics')"
        );
        assert_eq!(Origin::default().to_string(), "configuration");
    }
}
