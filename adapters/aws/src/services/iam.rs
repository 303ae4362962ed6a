//! IAM (global): account summary, password policy, users / groups / roles / customer managed
//! policies (`GetAccountAuthorizationDetails`), the credential report, server certificates and
//! the AWS managed policies checked by CIS 2.15 and 2.20.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_iam::types::{
    AttachedPermissionsBoundary, AttachedPolicy, EntityType, GroupDetail, ManagedPolicyDetail,
    PasswordPolicy, PolicyDetail, PolicyVersion, ReportStateType, RoleDetail, ServerCertificateMetadata, Tag,
    UserDetail,
};
use base64::Engine;
use serde_json::{Map, Value};

use crate::clients::Clients;
use crate::collect::{call, Part};
use crate::item::{list, strs, tag_map, ts, Ctx, Item, Obj};
use crate::services::MAX_PAGES;

/// `awsRegion` of IAM items.
pub(crate) const GLOBAL: &str = "global";

/// The AWS managed policies that CIS 2.15 and 2.20 look at.
pub(crate) const AWS_MANAGED_POLICIES: &[&str] = &["AWSSupportAccess", "AWSCloudShellFullAccess"];

fn tags(t: &[Tag]) -> Value {
    list(t, |t| {
        Obj::new().set("key", t.key()).set("value", t.value()).build()
    })
}

fn envelope_tags(t: &[Tag]) -> Value {
    tag_map(t.iter().map(|t| (Some(t.key()), Some(t.value()))))
}

fn inline(p: &[PolicyDetail]) -> Value {
    list(p, |p| {
        Obj::new()
            .nul("policyName", p.policy_name())
            .nul("policyDocument", p.policy_document())
            .build()
    })
}

fn attached(p: &[AttachedPolicy]) -> Value {
    list(p, |p| {
        Obj::new()
            .nul("policyName", p.policy_name())
            .nul("policyArn", p.policy_arn())
            .build()
    })
}

fn boundary(b: Option<&AttachedPermissionsBoundary>) -> Value {
    b.map_or(Value::Null, |b| {
        Obj::new()
            .nul(
                "permissionsBoundaryType",
                b.permissions_boundary_type().map(|t| t.as_str()),
            )
            .nul("permissionsBoundaryArn", b.permissions_boundary_arn())
            .build()
    })
}

/// `AWS::IAM::AccountSummary`: the summary map verbatim.
pub(crate) fn account_summary(ctx: &Ctx, map: &BTreeMap<String, i32>) -> Item {
    let mut m = Map::new();
    for (k, v) in map {
        m.insert(k.clone(), Value::from(*v));
    }
    Item::new(
        ctx,
        "AWS::IAM::AccountSummary",
        GLOBAL,
        &ctx.account,
        Some(&ctx.account),
        Some(&ctx.root_arn()),
        Value::Object(m),
    )
}

/// `AWS::IAM::AccountPasswordPolicy`; `None` (no policy) is `configuration: {}`.
pub(crate) fn password_policy(ctx: &Ctx, p: Option<&PasswordPolicy>) -> Item {
    let configuration = p.map_or_else(
        || Value::Object(Map::new()),
        |p| {
            Obj::new()
                .opt("minimumPasswordLength", p.minimum_password_length())
                .set("requireSymbols", p.require_symbols())
                .set("requireNumbers", p.require_numbers())
                .set("requireUppercaseCharacters", p.require_uppercase_characters())
                .set("requireLowercaseCharacters", p.require_lowercase_characters())
                .set("allowUsersToChangePassword", p.allow_users_to_change_password())
                .set("expirePasswords", p.expire_passwords())
                .opt("maxPasswordAge", p.max_password_age())
                .opt("passwordReusePrevention", p.password_reuse_prevention())
                .opt("hardExpiry", p.hard_expiry())
                .build()
        },
    );
    Item::new(
        ctx,
        "AWS::IAM::AccountPasswordPolicy",
        GLOBAL,
        &ctx.account,
        Some(&ctx.account),
        Some(&ctx.root_arn()),
        configuration,
    )
}

/// `AWS::IAM::User` from its `GetAccountAuthorizationDetails` entry.
pub(crate) fn user(ctx: &Ctx, u: &UserDetail) -> Option<Item> {
    let id = u.user_id()?;
    let configuration = Obj::new()
        .nul("path", u.path())
        .nul("userName", u.user_name())
        .set("userId", id)
        .nul("arn", u.arn())
        .nul("createDate", ts(u.create_date()))
        .set("userPolicyList", inline(u.user_policy_list()))
        .set("groupList", strs(u.group_list()))
        .set("attachedManagedPolicies", attached(u.attached_managed_policies()))
        .set("permissionsBoundary", boundary(u.permissions_boundary()))
        .set("tags", tags(u.tags()))
        .build();
    let relationships = list(u.group_list(), |g| {
        Obj::new()
            .set("resourceType", "AWS::IAM::Group")
            .set("resourceName", g.as_str())
            .set("relationshipName", "Is attached to Group")
            .build()
    });
    Some(
        Item::new(
            ctx,
            "AWS::IAM::User",
            GLOBAL,
            id,
            u.user_name(),
            u.arn(),
            configuration,
        )
        .set("resourceCreationTime", ts(u.create_date()))
        .set("tags", envelope_tags(u.tags()))
        .set("relationships", relationships),
    )
}

/// `AWS::IAM::Group`.
pub(crate) fn group(ctx: &Ctx, g: &GroupDetail) -> Option<Item> {
    let id = g.group_id()?;
    let configuration = Obj::new()
        .nul("path", g.path())
        .nul("groupName", g.group_name())
        .set("groupId", id)
        .nul("arn", g.arn())
        .nul("createDate", ts(g.create_date()))
        .set("groupPolicyList", inline(g.group_policy_list()))
        .set("attachedManagedPolicies", attached(g.attached_managed_policies()))
        .build();
    Some(
        Item::new(
            ctx,
            "AWS::IAM::Group",
            GLOBAL,
            id,
            g.group_name(),
            g.arn(),
            configuration,
        )
        .set("resourceCreationTime", ts(g.create_date())),
    )
}

/// `AWS::IAM::Role`.
pub(crate) fn role(ctx: &Ctx, r: &RoleDetail) -> Option<Item> {
    let id = r.role_id()?;
    let profiles = list(r.instance_profile_list(), |p| {
        Obj::new()
            .set("path", p.path())
            .set("instanceProfileName", p.instance_profile_name())
            .set("instanceProfileId", p.instance_profile_id())
            .set("arn", p.arn())
            .nul("createDate", ts(Some(p.create_date())))
            .set("roles", Value::Array(Vec::new()))
            .build()
    });
    let last_used = r.role_last_used().map_or(Value::Null, |l| {
        Obj::new()
            .nul("lastUsedDate", ts(l.last_used_date()))
            .nul("region", l.region())
            .build()
    });
    let configuration = Obj::new()
        .nul("path", r.path())
        .nul("roleName", r.role_name())
        .set("roleId", id)
        .nul("arn", r.arn())
        .nul("createDate", ts(r.create_date()))
        .nul("assumeRolePolicyDocument", r.assume_role_policy_document())
        .set("instanceProfileList", profiles)
        .set("rolePolicyList", inline(r.role_policy_list()))
        .set("attachedManagedPolicies", attached(r.attached_managed_policies()))
        .set("permissionsBoundary", boundary(r.permissions_boundary()))
        .set("tags", tags(r.tags()))
        .set("roleLastUsed", last_used)
        .build();
    Some(
        Item::new(
            ctx,
            "AWS::IAM::Role",
            GLOBAL,
            id,
            r.role_name(),
            r.arn(),
            configuration,
        )
        .set("resourceCreationTime", ts(r.create_date()))
        .set("tags", envelope_tags(r.tags())),
    )
}

fn versions(v: &[PolicyVersion]) -> Value {
    list(v, |v| {
        Obj::new()
            .nul("document", v.document())
            .nul("versionId", v.version_id())
            .set("isDefaultVersion", v.is_default_version())
            .nul("createDate", ts(v.create_date()))
            .build()
    })
}

/// `AWS::IAM::Policy` (customer managed) from `GetAccountAuthorizationDetails`.
///
/// The resource id is the policy id; an answer without one (a simulator's) falls back to the ARN,
/// and a missing name to the ARN's last segment.
pub(crate) fn managed_policy(ctx: &Ctx, p: &ManagedPolicyDetail) -> Option<Item> {
    let id = p.policy_id().or(p.arn())?;
    let name = p
        .policy_name()
        .or_else(|| p.arn().and_then(|a| a.rsplit('/').next()));
    let configuration = Obj::new()
        .nul("policyName", name)
        .set("policyId", id)
        .nul("arn", p.arn())
        .nul("defaultVersionId", p.default_version_id())
        .nul("path", p.path())
        .nul("attachmentCount", p.attachment_count())
        .nul(
            "permissionsBoundaryUsageCount",
            p.permissions_boundary_usage_count(),
        )
        .set("isAttachable", p.is_attachable())
        .nul("description", p.description())
        .nul("createDate", ts(p.create_date()))
        .nul("updateDate", ts(p.update_date()))
        .set("policyVersionList", versions(p.policy_version_list()))
        .build();
    Some(
        Item::new(ctx, "AWS::IAM::Policy", GLOBAL, id, name, p.arn(), configuration)
            .set("resourceCreationTime", ts(p.create_date())),
    )
}

/// `AWS::IAM::Policy` for an AWS managed policy: `GetPolicy`, the default version from
/// `GetPolicyVersion` and `PolicyEntities` from `ListEntitiesForPolicy`.
pub(crate) fn aws_managed_policy(
    ctx: &Ctx,
    p: &aws_sdk_iam::types::Policy,
    default_version: &PolicyVersion,
    entities: Value,
) -> Option<Item> {
    let id = p.policy_id()?;
    let configuration = Obj::new()
        .nul("policyName", p.policy_name())
        .set("policyId", id)
        .nul("arn", p.arn())
        .nul("path", p.path())
        .nul("defaultVersionId", p.default_version_id())
        .nul("attachmentCount", p.attachment_count())
        .nul(
            "permissionsBoundaryUsageCount",
            p.permissions_boundary_usage_count(),
        )
        .set("isAttachable", p.is_attachable())
        .nul("description", p.description())
        .nul("createDate", ts(p.create_date()))
        .nul("updateDate", ts(p.update_date()))
        .set(
            "policyVersionList",
            versions(std::slice::from_ref(default_version)),
        )
        .build();
    Some(
        Item::new(
            ctx,
            "AWS::IAM::Policy",
            GLOBAL,
            id,
            p.policy_name(),
            p.arn(),
            configuration,
        )
        .set("resourceCreationTime", ts(p.create_date()))
        .supp("PolicyEntities", entities),
    )
}

/// `AWS::IAM::ServerCertificate` from its `ListServerCertificates` entry.
pub(crate) fn server_certificate(ctx: &Ctx, c: &ServerCertificateMetadata) -> Item {
    let configuration = Obj::new()
        .set("ServerCertificateName", c.server_certificate_name())
        .set("Path", c.path())
        .set("Arn", c.arn())
        .build();
    let meta = Obj::new()
        .set("path", c.path())
        .set("serverCertificateName", c.server_certificate_name())
        .set("serverCertificateId", c.server_certificate_id())
        .set("arn", c.arn())
        .nul("uploadDate", ts(c.upload_date()))
        .nul("expiration", ts(c.expiration()))
        .build();
    Item::new(
        ctx,
        "AWS::IAM::ServerCertificate",
        GLOBAL,
        c.server_certificate_id(),
        Some(c.server_certificate_name()),
        Some(c.arn()),
        configuration,
    )
    .supp("ServerCertificateMetadata", meta)
}

/// Splits one CSV line (the credential report quotes no field, but quoted fields are accepted).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The credential report's rows by user name, each an object of strings keyed by the CSV
/// headers. The `<root_account>` row is left out.
pub(crate) fn credential_report(csv: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = csv_fields(lines.next().ok_or("the credential report is empty")?);
    if header.first().map(String::as_str) != Some("user") {
        return Err(format!(
            "the credential report's first column is {:?}, expected \"user\"",
            header.first()
        ));
    }
    let mut rows = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        let fields = csv_fields(line);
        if fields.len() != header.len() {
            return Err(format!(
                "credential report row {} has {} fields, the header {}",
                n + 2,
                fields.len(),
                header.len()
            ));
        }
        let mut m = Map::new();
        for (h, f) in header.iter().zip(fields) {
            m.insert(h.clone(), Value::String(f));
        }
        let user = m
            .get("user")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if user != "<root_account>" {
            rows.insert(user, Value::Object(m));
        }
    }
    Ok(rows)
}

/// `{"policyGroups": [...], "policyUsers": [...], "policyRoles": [...]}`.
pub(crate) fn policy_entities(
    groups: &[aws_sdk_iam::types::PolicyGroup],
    users: &[aws_sdk_iam::types::PolicyUser],
    roles: &[aws_sdk_iam::types::PolicyRole],
) -> Value {
    Obj::new()
        .set(
            "policyGroups",
            list(groups, |g| {
                Obj::new()
                    .nul("groupName", g.group_name())
                    .nul("groupId", g.group_id())
                    .build()
            }),
        )
        .set(
            "policyUsers",
            list(users, |u| {
                Obj::new()
                    .nul("userName", u.user_name())
                    .nul("userId", u.user_id())
                    .build()
            }),
        )
        .set(
            "policyRoles",
            list(roles, |r| {
                Obj::new()
                    .nul("roleName", r.role_name())
                    .nul("roleId", r.role_id())
                    .build()
            }),
        )
        .build()
}

/// Collects every IAM item (IAM is global: one client, in the home region).
pub(crate) async fn collect(ctx: &Ctx, clients: &Clients, home: &str) -> Part {
    let (c, rec) = clients.iam(home);
    let mut part = Part::default();

    let (r, ev) = call(&rec, "GetAccountSummary", c.get_account_summary().send()).await;
    match r {
        Ok(out) => {
            let map: BTreeMap<String, i32> = out
                .summary_map()
                .map(|m| m.iter().map(|(k, v)| (k.as_str().to_string(), *v)).collect())
                .unwrap_or_default();
            part.push(account_summary(ctx, &map).with_evidence(&ev));
        }
        Err(e) => part.fail(&rec, &e.error),
    }

    let (r, ev) = call(
        &rec,
        "GetAccountPasswordPolicy",
        c.get_account_password_policy().send(),
    )
    .await;
    match r {
        Ok(out) => part.push(password_policy(ctx, out.password_policy()).with_evidence(&ev)),
        Err(e) if e.is(&["NoSuchEntity"]) => part.push(password_policy(ctx, None).with_evidence(&ev)),
        Err(e) => part.fail(&rec, &e.error),
    }

    // The credential report: generate, wait until complete, read.
    let report = credential_report_rows(&c, &rec, &mut part).await;

    // Users, groups, roles and customer managed policies.
    let mut marker: Option<String> = None;
    let mut details = Vec::new();
    let mut gaad_ev = Vec::new();
    let mut complete = true;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            &rec,
            "GetAccountAuthorizationDetails",
            c.get_account_authorization_details()
                .filter(EntityType::User)
                .filter(EntityType::Group)
                .filter(EntityType::Role)
                .filter(EntityType::LocalManagedPolicy)
                .set_marker(marker.clone())
                .send(),
        )
        .await;
        gaad_ev.extend(ev);
        match r {
            Ok(out) => {
                let next = out.marker().map(str::to_string);
                let more = out.is_truncated() && next.is_some();
                details.push(out);
                if !more {
                    break;
                }
                marker = next;
            }
            Err(e) => {
                part.fail(&rec, &e.error);
                complete = false;
                break;
            }
        }
    }
    if complete {
        for out in &details {
            for u in out.user_detail_list() {
                if let Some(mut it) = user(ctx, u) {
                    it.add_evidence(&gaad_ev);
                    if let Some((rows, rep_ev)) = &report {
                        if let Some(row) = u.user_name().and_then(|n| rows.get(n)) {
                            it.put_supp("CredentialReport", row.clone());
                            it.add_evidence(rep_ev);
                        }
                    }
                    part.push(it);
                }
            }
            for g in out.group_detail_list() {
                if let Some(it) = group(ctx, g) {
                    part.push(it.with_evidence(&gaad_ev));
                }
            }
            for r in out.role_detail_list() {
                if let Some(it) = role(ctx, r) {
                    part.push(it.with_evidence(&gaad_ev));
                }
            }
            for p in out.policies() {
                if let Some(it) = managed_policy(ctx, p) {
                    part.push(it.with_evidence(&gaad_ev));
                }
            }
        }
    }

    // Server certificates.
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            &rec,
            "ListServerCertificates",
            c.list_server_certificates().set_marker(marker.clone()).send(),
        )
        .await;
        match r {
            Ok(out) => {
                for cert in out.server_certificate_metadata_list() {
                    part.push(server_certificate(ctx, cert).with_evidence(&ev));
                }
                let next = out.marker().map(str::to_string);
                if !(out.is_truncated() && next.is_some()) {
                    break;
                }
                marker = next;
            }
            Err(e) => {
                part.fail(&rec, &e.error);
                break;
            }
        }
    }

    // The AWS managed policies of 2.15 and 2.20.
    for name in AWS_MANAGED_POLICIES {
        let arn = format!("arn:{}:iam::aws:policy/{name}", ctx.partition);
        if let Some(it) = aws_managed(ctx, &c, &rec, &arn, &mut part).await {
            part.push(it);
        }
    }
    part
}

async fn credential_report_rows(
    c: &aws_sdk_iam::Client,
    rec: &crate::capture::Recorder,
    part: &mut Part,
) -> Option<(BTreeMap<String, Value>, Vec<String>)> {
    let mut evidence = Vec::new();
    let mut ready = false;
    for attempt in 0..10u32 {
        let (r, _) = call(
            rec,
            "GenerateCredentialReport",
            c.generate_credential_report().send(),
        )
        .await;
        match r {
            Ok(out) if out.state() == Some(&ReportStateType::Complete) => {
                ready = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt + 1))).await,
            Err(e) => {
                part.fail(rec, &e.error);
                return None;
            }
        }
    }
    if !ready {
        part.fail(
            rec,
            &crate::AwsError::Unavailable {
                action: "iam:GenerateCredentialReport".into(),
                region: rec.region.clone(),
                message: "the credential report was not ready after 10 attempts".into(),
            },
        );
        return None;
    }
    let (r, ev) = call(rec, "GetCredentialReport", c.get_credential_report().send()).await;
    evidence.extend(ev);
    let out = match r {
        Ok(out) => out,
        Err(e) => {
            part.fail(rec, &e.error);
            return None;
        }
    };
    let bytes = out.content().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    // The SDK decodes the base64 of the XML; accept a still-encoded body too.
    let text = match String::from_utf8(bytes.clone()) {
        Ok(t) if t.starts_with("user,") => t,
        _ => base64::engine::general_purpose::STANDARD
            .decode(&bytes)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default(),
    };
    match credential_report(&text) {
        Ok(rows) => Some((rows, evidence)),
        Err(m) => {
            part.fail(
                rec,
                &crate::AwsError::response("iam:GetCredentialReport", &rec.region, m),
            );
            None
        }
    }
}

async fn aws_managed(
    ctx: &Ctx,
    c: &aws_sdk_iam::Client,
    rec: &crate::capture::Recorder,
    arn: &str,
    part: &mut Part,
) -> Option<Item> {
    let (r, mut evidence) = call(rec, "GetPolicy", c.get_policy().policy_arn(arn).send()).await;
    let policy = match r {
        Ok(out) => out.policy?,
        Err(e) => {
            part.fail(rec, &e.error);
            return None;
        }
    };
    let version_id = policy.default_version_id().unwrap_or("v1").to_string();
    let (r, ev) = call(
        rec,
        "GetPolicyVersion",
        c.get_policy_version()
            .policy_arn(arn)
            .version_id(&version_id)
            .send(),
    )
    .await;
    evidence.extend(ev);
    let version = match r {
        Ok(out) => out.policy_version?,
        Err(e) => {
            part.fail(rec, &e.error);
            return None;
        }
    };
    let (mut groups, mut users, mut roles) = (Vec::new(), Vec::new(), Vec::new());
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (r, ev) = call(
            rec,
            "ListEntitiesForPolicy",
            c.list_entities_for_policy()
                .policy_arn(arn)
                .set_marker(marker.clone())
                .send(),
        )
        .await;
        evidence.extend(ev);
        match r {
            Ok(out) => {
                groups.extend(out.policy_groups().iter().cloned());
                users.extend(out.policy_users().iter().cloned());
                roles.extend(out.policy_roles().iter().cloned());
                let next = out.marker().map(str::to_string);
                if !(out.is_truncated() && next.is_some()) {
                    break;
                }
                marker = next;
            }
            Err(e) => {
                part.fail(rec, &e.error);
                return None;
            }
        }
    }
    let entities = policy_entities(&groups, &users, &roles);
    aws_managed_policy(ctx, &policy, &version, entities).map(|it| it.with_evidence(&evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::types::{PolicyGroup, SummaryKeyType};
    use aws_smithy_types::DateTime;

    #[test]
    fn account_summary_keeps_the_map_keys() {
        let ctx = Ctx::test();
        let mut m = BTreeMap::new();
        m.insert(SummaryKeyType::AccountMfaEnabled.as_str().to_string(), 1);
        m.insert(SummaryKeyType::AccountAccessKeysPresent.as_str().to_string(), 0);
        let it = account_summary(&ctx, &m);
        let v = Value::Object(it.body);
        assert_eq!(v["configuration"]["AccountMFAEnabled"], 1);
        assert_eq!(v["configuration"]["AccountAccessKeysPresent"], 0);
        assert_eq!(v["resourceId"], "111122223333");
        assert_eq!(v["awsRegion"], "global");
        assert_eq!(v["arn"], "arn:aws:iam::111122223333:root");
    }

    #[test]
    fn password_policy_in_lower_camel_case_and_absent_policy_is_empty() {
        let ctx = Ctx::test();
        let p = PasswordPolicy::builder()
            .minimum_password_length(14)
            .password_reuse_prevention(24)
            .require_symbols(true)
            .build();
        let v = Value::Object(password_policy(&ctx, Some(&p)).body);
        assert_eq!(v["configuration"]["minimumPasswordLength"], 14);
        assert_eq!(v["configuration"]["passwordReusePrevention"], 24);
        assert_eq!(v["configuration"]["requireSymbols"], true);
        assert!(v["configuration"].get("maxPasswordAge").is_none());
        let v = Value::Object(password_policy(&ctx, None).body);
        assert_eq!(v["configuration"], serde_json::json!({}));
        assert_eq!(v["resourceType"], "AWS::IAM::AccountPasswordPolicy");
    }

    #[test]
    fn users_carry_policies_groups_and_ids() {
        let ctx = Ctx::test();
        let u = UserDetail::builder()
            .user_name("alice")
            .user_id("AIDAEXAMPLE")
            .arn("arn:aws:iam::111122223333:user/alice")
            .path("/")
            .create_date(DateTime::from_secs(1_700_000_000))
            .group_list("developers")
            .user_policy_list(
                PolicyDetail::builder()
                    .policy_name("inline")
                    .policy_document("%7B%7D")
                    .build(),
            )
            .attached_managed_policies(
                AttachedPolicy::builder()
                    .policy_name("ReadOnlyAccess")
                    .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
                    .build(),
            )
            .build();
        let v = Value::Object(user(&ctx, &u).unwrap().body);
        assert_eq!(v["resourceId"], "AIDAEXAMPLE");
        assert_eq!(v["resourceName"], "alice");
        assert_eq!(v["configuration"]["userName"], "alice");
        assert_eq!(v["configuration"]["groupList"], serde_json::json!(["developers"]));
        assert_eq!(
            v["configuration"]["userPolicyList"][0]["policyDocument"],
            "%7B%7D"
        );
        assert_eq!(
            v["configuration"]["attachedManagedPolicies"][0]["policyArn"],
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        );
        assert_eq!(v["configuration"]["permissionsBoundary"], Value::Null);
        assert_eq!(v["resourceCreationTime"], "2023-11-14T22:13:20Z");
        assert_eq!(v["relationships"][0]["resourceName"], "developers");
    }

    #[test]
    fn roles_groups_and_policies() {
        let ctx = Ctx::test();
        let r = RoleDetail::builder()
            .role_name("svc")
            .role_id("AROAEXAMPLE")
            .path("/aws-service-role/x/")
            .role_policy_list(
                PolicyDetail::builder()
                    .policy_name("p")
                    .policy_document("%7B%7D")
                    .build(),
            )
            .build();
        let v = Value::Object(role(&ctx, &r).unwrap().body);
        assert_eq!(v["configuration"]["path"], "/aws-service-role/x/");
        assert_eq!(v["configuration"]["rolePolicyList"][0]["policyName"], "p");
        let g = GroupDetail::builder()
            .group_name("admins")
            .group_id("AGPAEXAMPLE")
            .group_policy_list(
                PolicyDetail::builder()
                    .policy_name("all")
                    .policy_document("%7B%7D")
                    .build(),
            )
            .build();
        let v = Value::Object(group(&ctx, &g).unwrap().body);
        assert_eq!(v["configuration"]["groupName"], "admins");
        assert_eq!(v["configuration"]["groupPolicyList"][0]["policyName"], "all");
        let p = ManagedPolicyDetail::builder()
            .policy_name("admin")
            .policy_id("ANPAEXAMPLE")
            .arn("arn:aws:iam::111122223333:policy/admin")
            .default_version_id("v2")
            .attachment_count(1)
            .policy_version_list(
                PolicyVersion::builder()
                    .version_id("v2")
                    .is_default_version(true)
                    .document("%7B%22Statement%22%3A%5B%5D%7D")
                    .build(),
            )
            .build();
        let v = Value::Object(managed_policy(&ctx, &p).unwrap().body);
        assert_eq!(v["resourceId"], "ANPAEXAMPLE");
        assert_eq!(v["configuration"]["attachmentCount"], 1);
        assert_eq!(
            v["configuration"]["policyVersionList"][0]["isDefaultVersion"],
            true
        );
        assert_eq!(v["configuration"]["defaultVersionId"], "v2");
    }

    #[test]
    fn aws_managed_policies_carry_their_entities() {
        let ctx = Ctx::test();
        let p = aws_sdk_iam::types::Policy::builder()
            .policy_name("AWSSupportAccess")
            .policy_id("ANPAJSUPPORT")
            .arn("arn:aws:iam::aws:policy/AWSSupportAccess")
            .default_version_id("v1")
            .attachment_count(1)
            .build();
        let v1 = PolicyVersion::builder()
            .version_id("v1")
            .is_default_version(true)
            .document("%7B%7D")
            .build();
        let ent = policy_entities(
            &[PolicyGroup::builder()
                .group_name("support")
                .group_id("AGPA1")
                .build()],
            &[],
            &[],
        );
        let v = Value::Object(aws_managed_policy(&ctx, &p, &v1, ent).unwrap().body);
        assert_eq!(
            v["supplementaryConfiguration"]["PolicyEntities"],
            serde_json::json!({"policyGroups": [{"groupName": "support", "groupId": "AGPA1"}], "policyUsers": [], "policyRoles": []})
        );
        assert_eq!(v["configuration"]["policyVersionList"][0]["versionId"], "v1");
    }

    #[test]
    fn server_certificates_carry_their_metadata() {
        let ctx = Ctx::test();
        let c = ServerCertificateMetadata::builder()
            .path("/")
            .server_certificate_name("www")
            .server_certificate_id("ASCAEXAMPLE")
            .arn("arn:aws:iam::111122223333:server-certificate/www")
            .expiration(DateTime::from_secs(1_800_000_000))
            .build()
            .unwrap();
        let v = Value::Object(server_certificate(&ctx, &c).body);
        assert_eq!(v["resourceId"], "ASCAEXAMPLE");
        assert_eq!(v["configuration"]["ServerCertificateName"], "www");
        assert_eq!(
            v["supplementaryConfiguration"]["ServerCertificateMetadata"]["expiration"],
            "2027-01-15T08:00:00Z"
        );
    }

    #[test]
    fn the_credential_report_is_parsed_verbatim_without_the_root_row() {
        let csv = "user,arn,user_creation_time,password_enabled,mfa_active\n\
                   <root_account>,arn:aws:iam::111122223333:root,2025-01-01T00:00:00+00:00,not_supported,true\n\
                   alice,arn:aws:iam::111122223333:user/alice,2025-03-04T09:15:22+00:00,true,false\n";
        let rows = credential_report(csv).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows["alice"]["password_enabled"], "true");
        assert_eq!(rows["alice"]["user_creation_time"], "2025-03-04T09:15:22+00:00");
        assert!(credential_report("").is_err());
        assert!(credential_report("user,arn\nalice\n").is_err());
        assert!(credential_report("name,arn\n").is_err());
    }
}
