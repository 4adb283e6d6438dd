//! Which ACLs of replicated topics are copied to their remote topics (MM2's rules): only
//! LITERAL topic ACLs; ALLOW WRITE is dropped (only the replicator writes remote topics);
//! ALLOW ALL becomes ALLOW READ; nothing is ever deleted on the target.

use std::collections::HashMap;

use crate::kafka::ffi::{AclBinding, AclOperation, AclPermission, PatternType, ResourceType};

/// The ACLs to create on the target for `source_acls`, given source topic → remote topic.
pub fn remote_acls(source_acls: &[AclBinding], remote_of: &HashMap<&str, &str>) -> Vec<AclBinding> {
    source_acls
        .iter()
        .filter(|a| {
            a.resource_type == ResourceType::Topic && a.pattern_type == PatternType::Literal
        })
        .filter(|a| !(a.permission == AclPermission::Allow && a.operation == AclOperation::Write))
        .filter_map(|a| {
            let remote = remote_of.get(a.resource_name.as_str())?;
            let mut copy = a.clone();
            copy.resource_name = (*remote).to_owned();
            if copy.permission == AclPermission::Allow && copy.operation == AclOperation::All {
                copy.operation = AclOperation::Read;
            }
            Some(copy)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(topic: &str, pattern: PatternType, op: AclOperation, perm: AclPermission) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: topic.to_owned(),
            pattern_type: pattern,
            principal: "User:alice".to_owned(),
            host: "*".to_owned(),
            operation: op,
            permission: perm,
        }
    }

    #[test]
    fn follows_mm2_rules() {
        let remote_of: HashMap<&str, &str> = [("orders", "src.orders")].into_iter().collect();
        let source = vec![
            acl(
                "orders",
                PatternType::Literal,
                AclOperation::Read,
                AclPermission::Allow,
            ),
            acl(
                "orders",
                PatternType::Literal,
                AclOperation::Write,
                AclPermission::Allow,
            ),
            acl(
                "orders",
                PatternType::Literal,
                AclOperation::All,
                AclPermission::Allow,
            ),
            acl(
                "orders",
                PatternType::Literal,
                AclOperation::Write,
                AclPermission::Deny,
            ),
            acl(
                "orders",
                PatternType::Prefixed,
                AclOperation::Read,
                AclPermission::Allow,
            ),
            acl(
                "other",
                PatternType::Literal,
                AclOperation::Read,
                AclPermission::Allow,
            ),
        ];
        let got: Vec<(String, AclOperation, AclPermission)> = remote_acls(&source, &remote_of)
            .into_iter()
            .map(|a| (a.resource_name, a.operation, a.permission))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "src.orders".into(),
                    AclOperation::Read,
                    AclPermission::Allow
                ),
                (
                    "src.orders".into(),
                    AclOperation::Read,
                    AclPermission::Allow
                ),
                (
                    "src.orders".into(),
                    AclOperation::Write,
                    AclPermission::Deny
                ),
            ]
        );
    }
}
