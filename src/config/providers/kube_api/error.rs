//! Why an object could not be read from the Kubernetes API. Messages name the object and the
//! API server, and say what to change; they never contain a value (Secret data, tokens,
//! kubeconfig contents).

use std::error::Error as StdError;
use std::fmt;

use kube::config::KubeconfigError;

use super::super::kubernetes::ObjectKind;

/// The object a request was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// ConfigMap or Secret.
    pub kind: ObjectKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl Target {
    /// The API resource (`configmaps`, `secrets`), as a Role's `resources` names it.
    pub fn resource(&self) -> &'static str {
        match self.kind {
            ObjectKind::ConfigMap => "configmaps",
            ObjectKind::Secret => "secrets",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A request: which API server, which object. Boxed in [`ApiError`] to keep it small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The API server's address.
    pub server: String,
    /// The object.
    pub target: Target,
}

/// A failed lookup through the Kubernetes API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No usable client configuration (no kubeconfig, no service account token, ...).
    #[error("cannot use the Kubernetes API: {reason}")]
    Config {
        /// Why, and what to check.
        reason: String,
    },
    /// 403: the identity may not `get` the object.
    #[error(
        "the Kubernetes API server at {} does not let {identity} get {} (403 Forbidden): the \
         Role bound to it must grant \"get\" on {} \"{}\" in namespace {}",
        .at.server, .at.target, .at.target.resource(), .at.target.name, .at.target.namespace
    )]
    Forbidden {
        /// Server and object.
        at: Box<Lookup>,
        /// Who asked, e.g. `service account repl/strait`.
        identity: String,
    },
    /// 401: the credentials were refused (expired or revoked token, wrong cluster).
    #[error(
        "the Kubernetes API server at {} rejected Strait's credentials getting {} \
         (401 Unauthorized): {message}",
        .at.server, .at.target
    )]
    Unauthorized {
        /// Server and object.
        at: Box<Lookup>,
        /// What the server said.
        message: String,
    },
    /// Any other error status.
    #[error(
        "the Kubernetes API server at {} answered {code} {reason} getting {}: {message}",
        .at.server, .at.target
    )]
    Status {
        /// Server and object.
        at: Box<Lookup>,
        /// The HTTP status code.
        code: u16,
        /// The status reason (`InternalError`, ...).
        reason: String,
        /// What the server said.
        message: String,
    },
    /// No connection, TLS failure, broken answer on the wire.
    #[error(
        "cannot reach the Kubernetes API server at {} to get {}: {reason}",
        .at.server, .at.target
    )]
    Unreachable {
        /// Server and object.
        at: Box<Lookup>,
        /// The connection error, with a hint for TLS failures.
        reason: String,
    },
    /// No answer in time.
    #[error(
        "the Kubernetes API server at {} did not answer within {seconds} s getting {}",
        .at.server, .at.target
    )]
    Timeout {
        /// Server and object.
        at: Box<Lookup>,
        /// The bound that passed.
        seconds: u64,
    },
    /// The answer is not the kind of object asked for. No detail: it would quote the data.
    #[error(
        "the Kubernetes API server at {} answered the request for {} with something that is \
         not a valid {}",
        .at.server, .at.target, .at.target.kind
    )]
    Unreadable {
        /// Server and object.
        at: Box<Lookup>,
    },
    /// The client's thread is gone (it panicked or could not be started).
    #[error("the Kubernetes API client stopped unexpectedly: {reason}")]
    Stopped {
        /// What is known.
        reason: String,
    },
}

impl ApiError {
    /// Classifies a failed `get` of `target` on `server`, made with `timeout` as the
    /// client's connect and read timeouts.
    pub(super) fn from_kube(
        e: kube::Error,
        server: &str,
        target: Target,
        timeout: std::time::Duration,
    ) -> Self {
        let at = Box::new(Lookup {
            server: server.to_owned(),
            target,
        });
        match e {
            kube::Error::Api(status) => match status.code {
                403 => Self::Forbidden {
                    identity: identity(&status.message),
                    at,
                },
                401 => Self::Unauthorized {
                    at,
                    message: status.message,
                },
                code => Self::Status {
                    at,
                    code,
                    reason: status.reason,
                    message: status.message,
                },
            },
            // serde_json's message may quote the payload, i.e. Secret data.
            kube::Error::SerdeError(_) => Self::Unreadable { at },
            // The client's own connect/read timeouts (hyper-timeout): "deadline has elapsed".
            other if is_elapsed(&other) => Self::Timeout {
                at,
                seconds: timeout.as_secs(),
            },
            other => Self::Unreachable {
                at,
                reason: connection_reason(&other),
            },
        }
    }

    /// No answer from `server` about `target` within `timeout`.
    pub(super) fn timeout(server: &str, target: Target, timeout: std::time::Duration) -> Self {
        Self::Timeout {
            at: Box::new(Lookup {
                server: server.to_owned(),
                target,
            }),
            seconds: timeout.as_secs(),
        }
    }

    /// A client configuration that could not be loaded. `context` says where it was looked
    /// for.
    pub(super) fn config(e: &(dyn StdError + 'static), context: &str) -> Self {
        let detail = if chain_has_parse_error(e) {
            // The YAML parser quotes the offending lines, and a kubeconfig holds tokens.
            "the kubeconfig is not valid YAML".to_owned()
        } else {
            chain(e)
        };
        Self::Config {
            reason: format!("{context}: {detail}"),
        }
    }
}

/// Who the API server says asked, from its 403 message (`... User "system:serviceaccount:
/// repl:strait" cannot get resource ...`).
fn identity(message: &str) -> String {
    let user = message
        .split_once("User \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(user, _)| user);
    match user {
        Some(user) => match user
            .strip_prefix("system:serviceaccount:")
            .and_then(|sa| sa.split_once(':'))
        {
            Some((ns, name)) => format!("service account {ns}/{name}"),
            None => format!("user \"{user}\""),
        },
        None => "Strait's service account".to_owned(),
    }
}

/// The connection error's chain, without kube's own prefixes, with a hint when the server's
/// certificate was not trusted.
fn connection_reason(e: &kube::Error) -> String {
    let text = match e {
        // kube's wrappers add only "ServiceError: "/"HyperError: " before their source.
        kube::Error::Service(inner) => chain(inner.as_ref()),
        kube::Error::HyperError(inner) => chain(inner),
        other => chain(other),
    };
    if text.contains("certificate") {
        format!(
            "{text} (TLS: the server's certificate is not signed by the CA Strait trusts: the \
             kubeconfig's certificate-authority, or ca.crt of the pod's service account)"
        )
    } else {
        text
    }
}

/// Whether a timeout of the client's stack ended the request.
fn is_elapsed(e: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.is::<tokio::time::error::Elapsed>()
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// An error and its sources, `: `-separated, skipping a source whose text the previous
/// message already contains.
pub(super) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut last = out.clone();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !last.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        next = s.source();
    }
    out
}

fn chain_has_parse_error(e: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if matches!(
            err.downcast_ref::<KubeconfigError>(),
            Some(KubeconfigError::Parse(_))
        ) {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

    fn target() -> Target {
        Target {
            kind: ObjectKind::Secret,
            namespace: "repl".to_owned(),
            name: "uswest-secret".to_owned(),
        }
    }

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.to_owned(),
            message: message.to_owned(),
            ..kube::core::Status::default()
        }))
    }

    #[test]
    fn forbidden_names_object_identity_and_the_role() {
        let e = ApiError::from_kube(
            status(
                403,
                "Forbidden",
                "secrets \"uswest-secret\" is forbidden: User \
                 \"system:serviceaccount:repl:strait\" cannot get resource \"secrets\" in API \
                 group \"\" in the namespace \"repl\"",
            ),
            "https://10.0.0.1:443",
            target(),
            TIMEOUT,
        );
        assert_eq!(
            e.to_string(),
            "the Kubernetes API server at https://10.0.0.1:443 does not let service account \
             repl/strait get Secret repl/uswest-secret (403 Forbidden): the Role bound to it \
             must grant \"get\" on secrets \"uswest-secret\" in namespace repl"
        );
        assert_eq!(identity("User \"alice\" cannot get"), "user \"alice\"");
        assert_eq!(identity("forbidden"), "Strait's service account");
    }

    #[test]
    fn other_statuses() {
        let e = ApiError::from_kube(
            status(401, "Unauthorized", "Unauthorized"),
            "https://k",
            target(),
            TIMEOUT,
        );
        assert!(
            e.to_string().contains("(401 Unauthorized): Unauthorized"),
            "{e}"
        );
        let e = ApiError::from_kube(
            status(500, "InternalError", "etcd is down"),
            "https://k",
            target(),
            TIMEOUT,
        );
        assert_eq!(
            e.to_string(),
            "the Kubernetes API server at https://k answered 500 InternalError getting Secret \
             repl/uswest-secret: etcd is down"
        );
    }

    #[test]
    fn unreadable_answers_quote_nothing() {
        let Err(serde) = serde_json::from_str::<u8>("\"Secret-value-1234\"") else {
            panic!("parsed");
        };
        let e = ApiError::from_kube(
            kube::Error::SerdeError(serde),
            "https://k",
            target(),
            TIMEOUT,
        );
        assert!(!e.to_string().contains("Secret-value-1234"), "{e}");
        assert!(e.to_string().ends_with("not a valid Secret"), "{e}");
    }
}
