//! The error every admin call returns: librdkafka's (or the broker's) error code and message,
//! and what the call was about.

use std::fmt;

use rdkafka::bindings::rd_kafka_resp_err_t as Rd;

/// A librdkafka error code: negative values are librdkafka's own (`RD_KAFKA_RESP_ERR__*`),
/// the others Kafka protocol error codes as the broker sent them.
///
/// A plain integer rather than `rdkafka`'s enum because a broker newer than librdkafka may send
/// codes the enum does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    /// No error.
    pub const NO_ERROR: Self = Self(0);
    /// librdkafka could not parse an answer (or it lacked a required field).
    pub const BAD_MSG: Self = Self(-199);
    /// The call's timeout elapsed before an answer arrived (librdkafka's `__TIMED_OUT`).
    pub const TIMED_OUT: Self = Self(-185);
    /// An argument was rejected before anything was sent (e.g. a name with a NUL byte).
    pub const INVALID_ARG: Self = Self(-186);
    /// The topic or partition does not exist.
    pub const UNKNOWN_TOPIC_OR_PART: Self = Self(3);
    /// The broker did not answer in time.
    pub const REQUEST_TIMED_OUT: Self = Self(7);
    /// The group coordinator is not available (yet).
    pub const COORDINATOR_NOT_AVAILABLE: Self = Self(15);
    /// The broker asked is not the group's coordinator.
    pub const NOT_COORDINATOR: Self = Self(16);
    /// The group's generation does not match (the group is active).
    pub const ILLEGAL_GENERATION: Self = Self(22);
    /// The group does not know the member (an admin commit to an active group gets this).
    pub const UNKNOWN_MEMBER_ID: Self = Self(25);
    /// The group is rebalancing (it has members).
    pub const REBALANCE_IN_PROGRESS: Self = Self(27);
    /// Not authorized for the topic.
    pub const TOPIC_AUTHORIZATION_FAILED: Self = Self(29);
    /// Not authorized for the group.
    pub const GROUP_AUTHORIZATION_FAILED: Self = Self(30);
    /// Not authorized for the cluster.
    pub const CLUSTER_AUTHORIZATION_FAILED: Self = Self(31);
    /// A config name or value was rejected.
    pub const INVALID_CONFIG: Self = Self(40);
    /// The cluster has no authorizer (ACL calls fail with this).
    pub const SECURITY_DISABLED: Self = Self(54);
    /// The group still has members.
    pub const NON_EMPTY_GROUP: Self = Self(68);
    /// The group does not exist.
    pub const GROUP_ID_NOT_FOUND: Self = Self(69);

    /// librdkafka's name of the code, e.g. `UNKNOWN_MEMBER_ID` or `_TIMED_OUT`.
    pub fn name(self) -> String {
        super::strings::err_name(self.0)
    }

    /// librdkafka's one-line description of the code.
    pub fn description(self) -> String {
        super::strings::err_description(self.0)
    }
}

// The constants above are typed by hand; check them against librdkafka's enum at compile time.
const _: () = {
    assert!(ErrorCode::NO_ERROR.0 == Rd::RD_KAFKA_RESP_ERR_NO_ERROR as i32);
    assert!(ErrorCode::BAD_MSG.0 == Rd::RD_KAFKA_RESP_ERR__BAD_MSG as i32);
    assert!(ErrorCode::TIMED_OUT.0 == Rd::RD_KAFKA_RESP_ERR__TIMED_OUT as i32);
    assert!(ErrorCode::INVALID_ARG.0 == Rd::RD_KAFKA_RESP_ERR__INVALID_ARG as i32);
    assert!(
        ErrorCode::UNKNOWN_TOPIC_OR_PART.0 == Rd::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART as i32
    );
    assert!(ErrorCode::REQUEST_TIMED_OUT.0 == Rd::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT as i32);
    assert!(
        ErrorCode::COORDINATOR_NOT_AVAILABLE.0
            == Rd::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE as i32
    );
    assert!(ErrorCode::NOT_COORDINATOR.0 == Rd::RD_KAFKA_RESP_ERR_NOT_COORDINATOR as i32);
    assert!(ErrorCode::ILLEGAL_GENERATION.0 == Rd::RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION as i32);
    assert!(ErrorCode::UNKNOWN_MEMBER_ID.0 == Rd::RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID as i32);
    assert!(
        ErrorCode::REBALANCE_IN_PROGRESS.0 == Rd::RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS as i32
    );
    assert!(
        ErrorCode::TOPIC_AUTHORIZATION_FAILED.0
            == Rd::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED as i32
    );
    assert!(
        ErrorCode::GROUP_AUTHORIZATION_FAILED.0
            == Rd::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED as i32
    );
    assert!(
        ErrorCode::CLUSTER_AUTHORIZATION_FAILED.0
            == Rd::RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED as i32
    );
    assert!(ErrorCode::INVALID_CONFIG.0 == Rd::RD_KAFKA_RESP_ERR_INVALID_CONFIG as i32);
    assert!(ErrorCode::SECURITY_DISABLED.0 == Rd::RD_KAFKA_RESP_ERR_SECURITY_DISABLED as i32);
    assert!(ErrorCode::NON_EMPTY_GROUP.0 == Rd::RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP as i32);
    assert!(ErrorCode::GROUP_ID_NOT_FOUND.0 == Rd::RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND as i32);
};

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// What an admin call (or one part of its answer) was about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The cluster as a whole (listing groups, describing ACLs).
    Cluster,
    /// A consumer group.
    Group(String),
    /// One partition's offset in a consumer group.
    GroupPartition {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A topic (its configuration).
    Topic(String),
    /// An ACL binding, as its `Display` form.
    Acl(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Cluster => f.write_str("the cluster"),
            Subject::Group(g) => write!(f, "group {g:?}"),
            Subject::GroupPartition {
                group,
                topic,
                partition,
            } => write!(f, "group {group:?} partition {topic}-{partition}"),
            Subject::Topic(t) => write!(f, "topic {t:?}"),
            Subject::Acl(a) => write!(f, "ACL {a}"),
        }
    }
}

/// An admin call failed, as a whole or for one group, partition, topic or ACL of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{op} for {subject} failed: {code}: {message}")]
pub struct AdminError {
    /// The librdkafka admin call, e.g. `AlterConsumerGroupOffsets`.
    pub op: &'static str,
    /// What failed.
    pub subject: Subject,
    /// The error code.
    pub code: ErrorCode,
    /// The error message from librdkafka or the broker (the code's description when there was
    /// none).
    pub message: String,
}

impl AdminError {
    /// An error with `message`, or the code's description when `message` is empty.
    pub(super) fn new(
        op: &'static str,
        subject: Subject,
        code: ErrorCode,
        message: String,
    ) -> Self {
        let message = if message.is_empty() {
            code.description()
        } else {
            message
        };
        AdminError {
            op,
            subject,
            code,
            message,
        }
    }

    /// The call's timeout elapsed (locally or on the broker).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::TIMED_OUT | ErrorCode::REQUEST_TIMED_OUT
        )
    }

    /// The broker refused because the group has active members: it only accepts offsets from
    /// an admin client for an empty group. Callers report this as "the group is active on the
    /// target" and retry later, as MM2 does.
    pub fn is_group_active(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::UNKNOWN_MEMBER_ID
                | ErrorCode::NON_EMPTY_GROUP
                | ErrorCode::REBALANCE_IN_PROGRESS
                | ErrorCode::ILLEGAL_GENERATION
        )
    }

    /// The group does not exist.
    pub fn is_group_not_found(&self) -> bool {
        self.code == ErrorCode::GROUP_ID_NOT_FOUND
    }

    /// The principal lacks a permission for the call.
    pub fn is_authorization(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::TOPIC_AUTHORIZATION_FAILED
                | ErrorCode::GROUP_AUTHORIZATION_FAILED
                | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        )
    }
}
