//! One collection run: identity, AWS Config, then every service, merged into sorted items.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::join_all;
use serde_json::Value;

use crate::capture::{iam_action, Recorder};
use crate::clients::{self, Clients};
use crate::error::{classify, AwsError};
use crate::item::{Ctx, Item};
use crate::services;
use crate::{AwsScanConfig, Collection, Degradation, RawResponse, SharedCredentialsProvider};

/// What one service collector produced.
#[derive(Debug, Default)]
pub(crate) struct Part {
    pub items: Vec<Item>,
    pub degraded: Vec<Degradation>,
}

impl Part {
    pub fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    /// Records a failed call of `rec`'s client.
    pub fn fail(&mut self, rec: &Recorder, e: &AwsError) {
        self.degraded
            .push(Degradation::from_error(rec.service, &rec.region, e));
    }

    pub fn extend(&mut self, other: Part) {
        self.items.extend(other.items);
        self.degraded.extend(other.degraded);
    }
}

/// Awaits one SDK call made through `rec`'s client: its result (failures classified) and the
/// sha256 of the responses it received.
pub(crate) async fn call<T, E, F>(
    rec: &Recorder,
    operation: &str,
    fut: F,
) -> (Result<T, CallError<E>>, Vec<String>)
where
    F: Future<Output = Result<T, SdkError<E, Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mark = rec.mark();
    let r = fut.await;
    let shas = rec.since(mark);
    let r = r.map_err(|e| {
        let code = crate::error::service_code(&e).map(str::to_string);
        let raw = e.raw_response();
        CallError {
            error: classify(&iam_action(rec.service, operation), &rec.region, &e),
            code,
            status: raw.map(|r| r.status().as_u16()),
            body: raw.and_then(|r| r.body().bytes()).map(<[u8]>::to_vec),
            _sdk: std::marker::PhantomData,
        }
    });
    (r, shas)
}

/// A failed call: its classification and the service's error code (e.g. `NoSuchEntity`), so that
/// callers can treat "not configured" answers as data.
#[derive(Debug)]
pub(crate) struct CallError<E> {
    pub error: AwsError,
    pub code: Option<String>,
    /// HTTP status and body of the answer, when there was one.
    pub status: Option<u16>,
    pub body: Option<Vec<u8>>,
    _sdk: std::marker::PhantomData<fn() -> E>,
}

impl<E> CallError<E> {
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

/// Supplementary fields that the adapter adds from service APIs, kept when an AWS Config item
/// replaces the service item of the same resource.
const ADAPTER_SUPPLEMENTARY: &[&str] = &[
    "CredentialReport",
    "PolicyEntities",
    "ServerCertificateMetadata",
    "TrailStatus",
    "EventSelectors",
    "FlowLogs",
];

pub(crate) async fn run(
    cfg: &AwsScanConfig,
    credentials: Option<SharedCredentialsProvider>,
) -> Result<Collection, AwsError> {
    cfg.validate()?;
    let home = cfg.regions[0].clone();
    let note = Recorder::new("sts", &home);
    let clients = clients::load(cfg, credentials, &note).await?;

    // Identity: the one call whose failure stops the run.
    let (sts, rec) = clients.sts(&home);
    let (id, _) = call(&rec, "GetCallerIdentity", sts.get_caller_identity().send()).await;
    let id = id.map_err(|e| e.error)?;
    let account = id.account().unwrap_or_default().to_string();
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AwsError::response(
            "sts:GetCallerIdentity",
            &home,
            format!("account {account:?} is not a 12-digit account id"),
        ));
    }
    if let Some(expected) = &cfg.account_id {
        if *expected != account {
            return Err(AwsError::Auth {
                action: "sts:GetCallerIdentity".into(),
                region: home,
                message: format!("the credentials belong to account {account}, not {expected}"),
            });
        }
    }
    let partition = id
        .arn()
        .and_then(|a| a.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    let ctx = Ctx {
        account: account.clone(),
        partition,
        captured_at: cfg.captured_at,
    };

    // Phase 1: AWS Config in every region (its region settings and its recorded items).
    let config_parts = join_all(
        cfg.regions
            .iter()
            .map(|r| services::config::collect(&ctx, &clients, r)),
    )
    .await;
    let mut service = Part::default();
    let mut recorded: BTreeMap<String, Item> = BTreeMap::new();
    for (part, items) in config_parts {
        service.extend(part);
        for it in items {
            recorded.insert(it.key(), it);
        }
    }
    let known: BTreeSet<String> = recorded.keys().cloned().collect();

    // Phase 2: the service APIs.
    let global = async {
        let (a, b) = futures::join!(
            services::iam::collect(&ctx, &clients, &home),
            services::s3::collect(&ctx, &clients, &cfg.regions, &known),
        );
        let mut p = a;
        p.extend(b);
        p
    };
    let regional = join_all(cfg.regions.iter().map(|r| {
        let (ctx, clients, known) = (&ctx, &clients, &known);
        async move {
            let (a, b, c, d, e, f, g) = futures::join!(
                services::ec2::collect(ctx, clients, r),
                services::kms::collect(ctx, clients, r, known),
                services::rds::collect(ctx, clients, r),
                services::efs::collect(ctx, clients, r),
                services::cloudtrail::collect(ctx, clients, r),
                services::regional::access_analyzer(ctx, clients, r),
                services::regional::securityhub(ctx, clients, r),
            );
            let mut p = a;
            for x in [b, c, d, e, f, g] {
                p.extend(x);
            }
            p
        }
    }));
    let (g, regional) = futures::join!(global, regional);
    service.extend(g);
    for p in regional {
        service.extend(p);
    }

    // Merge: an AWS Config item wins over the service item of the same resource, keeping the
    // supplementary fields only the service APIs provide.
    let mut merged: BTreeMap<String, Item> = BTreeMap::new();
    for it in service.items {
        merged.insert(it.key(), it);
    }
    for (key, mut it) in recorded {
        if let Some(svc) = merged.remove(&key) {
            if let Some(Value::Object(s)) = svc.body.get("supplementaryConfiguration") {
                for name in ADAPTER_SUPPLEMENTARY {
                    if let Some(v) = s.get(*name) {
                        it.put_supp(name, v.clone());
                    }
                }
            }
            it.add_evidence(&svc.evidence);
        }
        merged.insert(key, it);
    }
    Ok(finish(account, merged, service.degraded, &clients))
}

fn finish(
    account_id: String,
    merged: BTreeMap<String, Item>,
    mut degraded: Vec<Degradation>,
    clients: &Clients,
) -> Collection {
    let mut items: Vec<Item> = merged.into_values().collect();
    items.sort_by(|a, b| {
        (&a.resource_type, &a.region, &a.resource_id).cmp(&(&b.resource_type, &b.region, &b.resource_id))
    });
    let mut evidence = BTreeMap::new();
    let mut values = Vec::with_capacity(items.len());
    for it in items {
        evidence.insert(it.key(), it.evidence.clone());
        values.push(Value::Object(it.body));
    }
    let mut recorders = clients.take_recorders();
    recorders.sort_by(|a, b| (a.service, &a.region).cmp(&(b.service, &b.region)));
    let mut calls = BTreeSet::new();
    let mut responses = Vec::new();
    for rec in recorders {
        let (c, r) = rec.take();
        calls.extend(c);
        responses.extend(r.into_iter().map(|c| RawResponse {
            service: rec.service.to_string(),
            operation: c.operation,
            region: rec.region.clone(),
            status: c.status,
            sha256: c.sha256,
            body: c.body,
        }));
    }
    degraded.sort();
    degraded.dedup();
    Collection {
        account_id,
        items: values,
        degraded,
        responses,
        evidence,
        calls,
    }
}
