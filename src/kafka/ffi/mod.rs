//! Safe wrappers for the librdkafka admin calls that `rdkafka` 0.39 does not expose: listing and
//! describing consumer groups, reading and altering group offsets, incremental topic config
//! changes, ACLs, the principal's authorized operations (KIP-430), a consumer's cached watermarks,
//! producing a consumed record with its headers moved instead of copied, reading a record's
//! headers as bytes, being woken when a client's event queue receives something, and raising a
//! fatal error on a client (fault injection in tests). Also `poll(2)` on sockets. Also LZ4's block compressor, which the
//! `lz4` crate exposes only as raw bindings too.
//!
//! Every call is blocking (run it in `spawn_blocking` from async code) and bounded by the
//! `timeout` it takes: librdkafka gets it as the request timeout and answers with
//! [`ErrorCode::TIMED_OUT`] when it elapses. Each call creates its own librdkafka queue, so
//! calls may run concurrently on the same client, and every object handed to or received from
//! librdkafka is freed by a guard on every path.
//!
//! Functions take any [`KafkaHandle`]: an `rdkafka` [`AdminClient`](rdkafka::admin::AdminClient)
//! or a [`Client`](rdkafka::client::Client) (for example `consumer.client()`).

// This is the one module of the crate allowed to use `unsafe` (the workspace denies it): the
// calls above exist only in C APIs (librdkafka's, LZ4's), re-exported as raw bindings.
// Each unsafe block states why it is sound; the public API is entirely safe.
#![allow(unsafe_code)]

mod acls;
mod authorized;
mod configs;
mod error;
mod fatal;
mod flush;
mod groups;
mod headers;
mod lz4_block;
mod offsets;
mod poll;
mod produce;
mod raw;
mod strings;
mod wakeup;
mod watermarks;

pub use acls::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
    create_acls, delete_acls, describe_acls,
};
pub use authorized::{
    AuthorizedOperations, cluster_operations, group_operations, topic_operations,
};
pub use configs::{ConfigOp, incremental_alter_configs};
pub use error::{AdminError, ErrorCode, Subject};
pub use fatal::raise_fatal_error;
pub use flush::flush;
pub use groups::{
    GroupDescription, GroupListing, GroupState, describe_consumer_groups, list_consumer_groups,
};
pub use headers::MessageHeaders;
pub use lz4_block::compress_block as lz4_compress_block;
pub use offsets::{
    CommittedOffset, OffsetAlterResult, alter_consumer_group_offsets, list_consumer_group_offsets,
};
pub use poll::readable;
pub use produce::Outgoing;
pub use raw::KafkaHandle;
pub use wakeup::QueueWakeup;
pub use watermarks::cached_watermarks;
