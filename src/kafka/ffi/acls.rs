//! Describing and creating ACLs (`rd_kafka_DescribeAcls`, `rd_kafka_CreateAcls`).

use std::ffi::{CString, c_char};
use std::fmt;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::bindings::{
    rd_kafka_AclOperation_t as RdOperation, rd_kafka_AclPermissionType_t as RdPermission,
    rd_kafka_ResourcePatternType_t as RdPattern, rd_kafka_ResourceType_t as RdResource,
};

use super::error::{AdminError, Subject};
use super::raw::{self, Call, KafkaHandle, Owned};

/// The kind of resource an ACL is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// A kind librdkafka does not know (only in answers).
    Unknown,
    /// Any kind (only in filters).
    Any,
    /// A topic.
    Topic,
    /// A consumer group.
    Group,
    /// The cluster (Kafka's `CLUSTER`, librdkafka's `RD_KAFKA_RESOURCE_BROKER`).
    Cluster,
    /// A transactional id.
    TransactionalId,
}

/// How an ACL's resource name matches resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternType {
    /// A pattern type librdkafka does not know (only in answers).
    Unknown,
    /// Any pattern type (only in filters).
    Any,
    /// Every ACL that would apply to the named resource: literal, prefixed and wildcard (only
    /// in filters).
    Match,
    /// The name is the resource name (or `*` for all).
    Literal,
    /// The name is a prefix of resource names.
    Prefixed,
}

/// The operation an ACL allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclOperation {
    /// An operation librdkafka does not know (only in answers).
    Unknown,
    /// Any operation (only in filters).
    Any,
    /// Every operation (`ALL`).
    All,
    /// `READ`.
    Read,
    /// `WRITE`.
    Write,
    /// `CREATE`.
    Create,
    /// `DELETE`.
    Delete,
    /// `ALTER`.
    Alter,
    /// `DESCRIBE`.
    Describe,
    /// `CLUSTER_ACTION`.
    ClusterAction,
    /// `DESCRIBE_CONFIGS`.
    DescribeConfigs,
    /// `ALTER_CONFIGS`.
    AlterConfigs,
    /// `IDEMPOTENT_WRITE`.
    IdempotentWrite,
}

/// Whether an ACL allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclPermission {
    /// A permission type librdkafka does not know (only in answers).
    Unknown,
    /// Either (only in filters).
    Any,
    /// Denies the operation.
    Deny,
    /// Allows the operation.
    Allow,
}

/// One ACL: `principal` from `host` is allowed or denied `operation` on the resources that
/// `resource_type`, `resource_name` and `pattern_type` select.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclBinding {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The resource name (or prefix, or `*`).
    pub resource_name: String,
    /// How `resource_name` matches.
    pub pattern_type: PatternType,
    /// The principal, e.g. `User:replicator`.
    pub principal: String,
    /// The host, `*` for all.
    pub host: String,
    /// The operation.
    pub operation: AclOperation,
    /// Allow or deny.
    pub permission: AclPermission,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({:?} {:?} {:?} {:?} from {:?}: {:?} {:?})",
            self.resource_type,
            self.pattern_type,
            self.resource_name,
            self.principal,
            self.host,
            self.permission,
            self.operation
        )
    }
}

/// Which ACLs [`describe_acls`] returns: `None` fields and the `Any` variants match
/// everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AclBindingFilter {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The exact resource name.
    pub resource_name: Option<String>,
    /// The pattern type ([`PatternType::Match`]: all ACLs that apply to `resource_name`).
    pub pattern_type: PatternType,
    /// The exact principal.
    pub principal: Option<String>,
    /// The exact host.
    pub host: Option<String>,
    /// The operation.
    pub operation: AclOperation,
    /// The permission.
    pub permission: AclPermission,
}

impl AclBindingFilter {
    /// A filter that matches every ACL.
    pub fn any() -> Self {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermission::Any,
        }
    }
}

const DESCRIBE: Call = Call {
    op: "DescribeAcls",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS,
    event: rd::RD_KAFKA_EVENT_DESCRIBEACLS_RESULT,
};

const CREATE: Call = Call {
    op: "CreateAcls",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS,
    event: rd::RD_KAFKA_EVENT_CREATEACLS_RESULT,
};

/// The ACLs that match `filter`. Fails with `SECURITY_DISABLED` when the cluster has no
/// authorizer.
pub fn describe_acls(
    client: &impl KafkaHandle,
    filter: &AclBindingFilter,
    timeout: Duration,
) -> Result<Vec<AclBinding>, AdminError> {
    let subject = Subject::Cluster;
    let native = native_filter(DESCRIBE, &subject, filter)?;
    let event = raw::run(client, DESCRIBE, &subject, timeout, |rk, options, queue| {
        // SAFETY: `run` passes a live client, options and queue; the filter is live (owned by
        // `native`) and copied by librdkafka.
        unsafe { rd::rd_kafka_DescribeAcls(rk, native.as_ptr(), options, queue) }
    })?;
    // SAFETY: `run` checked the event's type; the bindings and their strings belong to the
    // event, which outlives this block. librdkafka maps enum values it does not know to the
    // `UNKNOWN` variants, so the enums read here are valid.
    unsafe {
        let result = rd::rd_kafka_event_DescribeAcls_result(event.as_ptr());
        if result.is_null() {
            return Err(DESCRIBE.bad_answer(subject, "result"));
        }
        let mut n = 0;
        let acls = rd::rd_kafka_DescribeAcls_result_acls(result, &mut n);
        raw::slice(acls.cast_const(), n)
            .iter()
            .filter(|a| !a.is_null())
            .map(|&a| {
                Ok(AclBinding {
                    resource_type: resource_type_from_native(rd::rd_kafka_AclBinding_restype(a)),
                    resource_name: raw::string(rd::rd_kafka_AclBinding_name(a))
                        .ok_or_else(|| DESCRIBE.bad_answer(Subject::Cluster, "resource name"))?,
                    pattern_type: pattern_from_native(
                        rd::rd_kafka_AclBinding_resource_pattern_type(a),
                    ),
                    principal: raw::string(rd::rd_kafka_AclBinding_principal(a))
                        .ok_or_else(|| DESCRIBE.bad_answer(Subject::Cluster, "principal"))?,
                    host: raw::string(rd::rd_kafka_AclBinding_host(a))
                        .ok_or_else(|| DESCRIBE.bad_answer(Subject::Cluster, "host"))?,
                    operation: operation_from_native(rd::rd_kafka_AclBinding_operation(a)),
                    permission: permission_from_native(rd::rd_kafka_AclBinding_permission_type(a)),
                })
            })
            .collect()
    }
}

/// Creates `acls` in one request. Returns one result per binding, in the order given (the
/// broker creates each independently); fails as a whole when the request could not be made
/// or a binding is invalid (e.g. an `Any` variant, which only filters may have).
pub fn create_acls(
    client: &impl KafkaHandle,
    acls: &[AclBinding],
    timeout: Duration,
) -> Result<Vec<Result<(), AdminError>>, AdminError> {
    if acls.is_empty() {
        return Ok(Vec::new());
    }
    let subject = match acls {
        [one] => Subject::Acl(one.to_string()),
        _ => Subject::Cluster,
    };
    let mut natives = Vec::with_capacity(acls.len());
    for acl in acls {
        let acl_subject = Subject::Acl(acl.to_string());
        let name = CREATE.cstring(&acl_subject, &acl.resource_name)?;
        let principal = CREATE.cstring(&acl_subject, &acl.principal)?;
        let host = CREATE.cstring(&acl_subject, &acl.host)?;
        let mut errstr = [0 as c_char; 512];
        // SAFETY: the strings are NUL-terminated and copied; `errstr` is a writable buffer of
        // the given size; the binding is owned by the guard.
        let native = unsafe {
            Owned::new(
                rd::rd_kafka_AclBinding_new(
                    resource_type_to_native(acl.resource_type),
                    name.as_ptr(),
                    pattern_to_native(acl.pattern_type),
                    principal.as_ptr(),
                    host.as_ptr(),
                    operation_to_native(acl.operation),
                    permission_to_native(acl.permission),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                ),
                rd::rd_kafka_AclBinding_destroy,
            )
        };
        let Some(native) = native else {
            // SAFETY: librdkafka wrote a NUL-terminated message into the zeroed buffer.
            let message = unsafe { raw::string(errstr.as_ptr()) }.unwrap_or_default();
            return Err(CREATE.invalid(acl_subject, message));
        };
        natives.push(native);
    }
    let event = raw::run(client, CREATE, &subject, timeout, |rk, options, queue| {
        let mut ptrs: Vec<*mut rd::rd_kafka_AclBinding_t> =
            natives.iter().map(Owned::as_ptr).collect();
        // SAFETY: `run` passes a live client, options and queue; the bindings are live (owned
        // by `natives`) and copied by librdkafka.
        unsafe { rd::rd_kafka_CreateAcls(rk, ptrs.as_mut_ptr(), ptrs.len(), options, queue) }
    })?;
    // SAFETY: `run` checked the event's type; the results and their errors belong to the
    // event, which outlives this block.
    let results = unsafe {
        let result = rd::rd_kafka_event_CreateAcls_result(event.as_ptr());
        if result.is_null() {
            return Err(CREATE.bad_answer(subject, "result"));
        }
        let mut n = 0;
        let results = rd::rd_kafka_CreateAcls_result_acls(result, &mut n);
        raw::slice(results.cast_const(), n)
            .iter()
            .map(|&r| {
                if r.is_null() {
                    None
                } else {
                    raw::error_of(rd::rd_kafka_acl_result_error(r))
                }
            })
            .collect::<Vec<_>>()
    };
    if results.len() != acls.len() {
        return Err(CREATE.bad_answer(
            subject,
            &format!("result per ACL ({} of {})", results.len(), acls.len()),
        ));
    }
    Ok(acls
        .iter()
        .zip(results)
        .map(|(acl, error)| match error {
            None => Ok(()),
            Some((code, message)) => Err(CREATE.err(Subject::Acl(acl.to_string()), code, message)),
        })
        .collect())
}

/// `filter` as a librdkafka filter object, owned by the returned guard.
fn native_filter(
    call: Call,
    subject: &Subject,
    filter: &AclBindingFilter,
) -> Result<Owned<rd::rd_kafka_AclBinding_t>, AdminError> {
    let name = opt_cstring(call, subject, filter.resource_name.as_deref())?;
    let principal = opt_cstring(call, subject, filter.principal.as_deref())?;
    let host = opt_cstring(call, subject, filter.host.as_deref())?;
    let mut errstr = [0 as c_char; 512];
    // SAFETY: the strings are NUL-terminated or null (= any) and copied; `errstr` is a
    // writable buffer of the given size; the filter is owned by the guard.
    let native = unsafe {
        Owned::new(
            rd::rd_kafka_AclBindingFilter_new(
                resource_type_to_native(filter.resource_type),
                ptr_of(&name),
                pattern_to_native(filter.pattern_type),
                ptr_of(&principal),
                ptr_of(&host),
                operation_to_native(filter.operation),
                permission_to_native(filter.permission),
                errstr.as_mut_ptr(),
                errstr.len(),
            ),
            rd::rd_kafka_AclBinding_destroy,
        )
    };
    native.ok_or_else(|| {
        // SAFETY: librdkafka wrote a NUL-terminated message into the zeroed buffer.
        let message = unsafe { raw::string(errstr.as_ptr()) }.unwrap_or_default();
        call.invalid(subject.clone(), message)
    })
}

const DELETE: Call = Call {
    op: "DeleteAcls",
    api: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS,
    event: rd::RD_KAFKA_EVENT_DELETEACLS_RESULT,
};

/// Deletes every ACL that matches `filter`; returns how many were deleted.
pub fn delete_acls(
    client: &impl KafkaHandle,
    filter: &AclBindingFilter,
    timeout: Duration,
) -> Result<usize, AdminError> {
    let subject = Subject::Cluster;
    let native = native_filter(DELETE, &subject, filter)?;
    let event = raw::run(client, DELETE, &subject, timeout, |rk, options, queue| {
        let mut ptrs = [native.as_ptr()];
        // SAFETY: `run` passes a live client, options and queue; the filter is live (owned by
        // `native`) and copied by librdkafka.
        unsafe { rd::rd_kafka_DeleteAcls(rk, ptrs.as_mut_ptr(), ptrs.len(), options, queue) }
    })?;
    // SAFETY: `run` checked the event's type; the responses, their errors and bindings belong
    // to the event, which outlives this block.
    unsafe {
        let result = rd::rd_kafka_event_DeleteAcls_result(event.as_ptr());
        if result.is_null() {
            return Err(DELETE.bad_answer(subject, "result"));
        }
        let mut n = 0;
        let responses = rd::rd_kafka_DeleteAcls_result_responses(result, &mut n);
        let mut deleted = 0;
        for &r in raw::slice(responses.cast_const(), n) {
            if r.is_null() {
                continue;
            }
            if let Some((code, message)) =
                raw::error_of(rd::rd_kafka_DeleteAcls_result_response_error(r))
            {
                return Err(DELETE.err(subject, code, message));
            }
            let mut m = 0;
            rd::rd_kafka_DeleteAcls_result_response_matching_acls(r, &mut m);
            deleted += m;
        }
        Ok(deleted)
    }
}

/// Copies an authorized-operations array out of an answer.
///
/// # Safety
/// `ops` must be null or point to `n` operations that outlive the call.
pub(super) unsafe fn operations(
    ops: *const rd::rd_kafka_AclOperation_t,
    n: usize,
) -> Vec<AclOperation> {
    // Read as plain integers: a value newer than librdkafka's enum would be invalid as it.
    // SAFETY: per the contract; the enum has the size and alignment of a C int.
    unsafe { raw::slice(ops.cast::<std::ffi::c_int>(), n) }
        .iter()
        .map(|&c| operation_from_code(c))
        .collect()
}

/// An operation from its Kafka protocol code (the values librdkafka's enum has), as the
/// authorized-operations lists of describe answers hold them.
pub(super) fn operation_from_code(code: i32) -> AclOperation {
    match code {
        1 => AclOperation::Any,
        2 => AclOperation::All,
        3 => AclOperation::Read,
        4 => AclOperation::Write,
        5 => AclOperation::Create,
        6 => AclOperation::Delete,
        7 => AclOperation::Alter,
        8 => AclOperation::Describe,
        9 => AclOperation::ClusterAction,
        10 => AclOperation::DescribeConfigs,
        11 => AclOperation::AlterConfigs,
        12 => AclOperation::IdempotentWrite,
        _ => AclOperation::Unknown,
    }
}

/// `s` as an optional C string.
fn opt_cstring(
    call: Call,
    subject: &Subject,
    s: Option<&str>,
) -> Result<Option<CString>, AdminError> {
    s.map(|s| call.cstring(subject, s)).transpose()
}

/// The pointer of an optional C string; null for `None`.
fn ptr_of(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

fn resource_type_to_native(t: ResourceType) -> RdResource {
    match t {
        ResourceType::Unknown => RdResource::RD_KAFKA_RESOURCE_UNKNOWN,
        ResourceType::Any => RdResource::RD_KAFKA_RESOURCE_ANY,
        ResourceType::Topic => RdResource::RD_KAFKA_RESOURCE_TOPIC,
        ResourceType::Group => RdResource::RD_KAFKA_RESOURCE_GROUP,
        ResourceType::Cluster => RdResource::RD_KAFKA_RESOURCE_BROKER,
        ResourceType::TransactionalId => RdResource::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
    }
}

fn resource_type_from_native(t: RdResource) -> ResourceType {
    match t {
        RdResource::RD_KAFKA_RESOURCE_ANY => ResourceType::Any,
        RdResource::RD_KAFKA_RESOURCE_TOPIC => ResourceType::Topic,
        RdResource::RD_KAFKA_RESOURCE_GROUP => ResourceType::Group,
        RdResource::RD_KAFKA_RESOURCE_BROKER => ResourceType::Cluster,
        RdResource::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID => ResourceType::TransactionalId,
        RdResource::RD_KAFKA_RESOURCE_UNKNOWN | RdResource::RD_KAFKA_RESOURCE__CNT => {
            ResourceType::Unknown
        }
    }
}

fn pattern_to_native(p: PatternType) -> RdPattern {
    match p {
        PatternType::Unknown => RdPattern::RD_KAFKA_RESOURCE_PATTERN_UNKNOWN,
        PatternType::Any => RdPattern::RD_KAFKA_RESOURCE_PATTERN_ANY,
        PatternType::Match => RdPattern::RD_KAFKA_RESOURCE_PATTERN_MATCH,
        PatternType::Literal => RdPattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        PatternType::Prefixed => RdPattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
    }
}

fn pattern_from_native(p: RdPattern) -> PatternType {
    match p {
        RdPattern::RD_KAFKA_RESOURCE_PATTERN_ANY => PatternType::Any,
        RdPattern::RD_KAFKA_RESOURCE_PATTERN_MATCH => PatternType::Match,
        RdPattern::RD_KAFKA_RESOURCE_PATTERN_LITERAL => PatternType::Literal,
        RdPattern::RD_KAFKA_RESOURCE_PATTERN_PREFIXED => PatternType::Prefixed,
        RdPattern::RD_KAFKA_RESOURCE_PATTERN_UNKNOWN
        | RdPattern::RD_KAFKA_RESOURCE_PATTERN_TYPE__CNT => PatternType::Unknown,
    }
}

fn operation_to_native(o: AclOperation) -> RdOperation {
    match o {
        AclOperation::Unknown => RdOperation::RD_KAFKA_ACL_OPERATION_UNKNOWN,
        AclOperation::Any => RdOperation::RD_KAFKA_ACL_OPERATION_ANY,
        AclOperation::All => RdOperation::RD_KAFKA_ACL_OPERATION_ALL,
        AclOperation::Read => RdOperation::RD_KAFKA_ACL_OPERATION_READ,
        AclOperation::Write => RdOperation::RD_KAFKA_ACL_OPERATION_WRITE,
        AclOperation::Create => RdOperation::RD_KAFKA_ACL_OPERATION_CREATE,
        AclOperation::Delete => RdOperation::RD_KAFKA_ACL_OPERATION_DELETE,
        AclOperation::Alter => RdOperation::RD_KAFKA_ACL_OPERATION_ALTER,
        AclOperation::Describe => RdOperation::RD_KAFKA_ACL_OPERATION_DESCRIBE,
        AclOperation::ClusterAction => RdOperation::RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
        AclOperation::DescribeConfigs => RdOperation::RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        AclOperation::AlterConfigs => RdOperation::RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS,
        AclOperation::IdempotentWrite => RdOperation::RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
    }
}

fn operation_from_native(o: RdOperation) -> AclOperation {
    match o {
        RdOperation::RD_KAFKA_ACL_OPERATION_ANY => AclOperation::Any,
        RdOperation::RD_KAFKA_ACL_OPERATION_ALL => AclOperation::All,
        RdOperation::RD_KAFKA_ACL_OPERATION_READ => AclOperation::Read,
        RdOperation::RD_KAFKA_ACL_OPERATION_WRITE => AclOperation::Write,
        RdOperation::RD_KAFKA_ACL_OPERATION_CREATE => AclOperation::Create,
        RdOperation::RD_KAFKA_ACL_OPERATION_DELETE => AclOperation::Delete,
        RdOperation::RD_KAFKA_ACL_OPERATION_ALTER => AclOperation::Alter,
        RdOperation::RD_KAFKA_ACL_OPERATION_DESCRIBE => AclOperation::Describe,
        RdOperation::RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION => AclOperation::ClusterAction,
        RdOperation::RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS => AclOperation::DescribeConfigs,
        RdOperation::RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS => AclOperation::AlterConfigs,
        RdOperation::RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE => AclOperation::IdempotentWrite,
        RdOperation::RD_KAFKA_ACL_OPERATION_UNKNOWN | RdOperation::RD_KAFKA_ACL_OPERATION__CNT => {
            AclOperation::Unknown
        }
    }
}

fn permission_to_native(p: AclPermission) -> RdPermission {
    match p {
        AclPermission::Unknown => RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN,
        AclPermission::Any => RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
        AclPermission::Deny => RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
        AclPermission::Allow => RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
    }
}

fn permission_from_native(p: RdPermission) -> AclPermission {
    match p {
        RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_ANY => AclPermission::Any,
        RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_DENY => AclPermission::Deny,
        RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW => AclPermission::Allow,
        RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN
        | RdPermission::RD_KAFKA_ACL_PERMISSION_TYPE__CNT => AclPermission::Unknown,
    }
}
