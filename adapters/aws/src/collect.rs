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

    /// The entries and response hashes of every page, or `None` after recording the failure.
    pub fn all_pages<T, E>(&mut self, rec: &Recorder, pages: Pages<T, E>) -> Option<(Vec<T>, Vec<String>)> {
        match pages.error {
            None => Some((pages.items, pages.evidence)),
            Some(e) => {
                self.fail(rec, &e.error);
                None
            }
        }
    }
}

/// What a paginated call read: the entries of every page up to the first failure, the sha256 of
/// every response, and that failure.
pub(crate) struct Pages<T, E> {
    pub items: Vec<T>,
    pub evidence: Vec<String>,
    pub error: Option<CallError<E>>,
}

/// Reads every page of a paginated call (at most `MAX_PAGES`): `send` makes the request for a
/// page token (`None` for the first page), `page` splits an answer into its entries and the next
/// token (`None` on the last page). Stops at the first failure.
pub(crate) async fn paged<O, E, T, S, Fut, P>(
    rec: &Recorder,
    operation: &str,
    mut send: S,
    mut page: P,
) -> Pages<T, E>
where
    S: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<O, SdkError<E, Response>>>,
    P: FnMut(O) -> (Vec<T>, Option<String>),
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut pages = Pages {
        items: Vec::new(),
        evidence: Vec::new(),
        error: None,
    };
    let mut token = None;
    for _ in 0..crate::services::MAX_PAGES {
        let (r, ev) = call(rec, operation, send(token.take())).await;
        pages.evidence.extend(ev);
        match r {
            Ok(out) => {
                let (items, next) = page(out);
                pages.items.extend(items);
                match next {
                    Some(n) => token = Some(n),
                    None => break,
                }
            }
            Err(e) => {
                pages.error = Some(e);
                break;
            }
        }
    }
    pages
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

    type Answer = Result<(Vec<u32>, Option<String>), SdkError<GetCallerIdentityError, Response>>;

    /// Pages by token: none → [1, 2] then "a" → [3] then "b" → [4] (last); `fail_at` fails that token.
    fn pages(fail_at: Option<&'static str>) -> (Pages<u32, GetCallerIdentityError>, Vec<Option<String>>) {
        let rec = Recorder::new("sts", "us-east-1");
        let mut asked = Vec::new();
        let got = futures::executor::block_on(paged(
            &rec,
            "GetCallerIdentity",
            |token: Option<String>| {
                asked.push(token.clone());
                let answer: Answer = match token.as_deref() {
                    t if t.is_some() && t == fail_at => Err(SdkError::construction_failure("refused")),
                    None => Ok((vec![1, 2], Some("a".into()))),
                    Some("a") => Ok((vec![3], Some("b".into()))),
                    _ => Ok((vec![4], None)),
                };
                async move { answer }
            },
            |out| out,
        ));
        (got, asked)
    }

    #[test]
    fn every_page_is_read_with_the_token_of_the_one_before() {
        let (got, asked) = pages(None);
        assert_eq!(got.items, [1, 2, 3, 4]);
        assert!(got.error.is_none());
        assert_eq!(asked, [None, Some("a".into()), Some("b".into())]);
    }

    #[test]
    fn the_first_failure_stops_and_keeps_what_was_read() {
        let (got, asked) = pages(Some("a"));
        assert_eq!(got.items, [1, 2]);
        assert!(got.error.is_some());
        assert_eq!(asked.len(), 2);
        let mut part = Part::default();
        assert!(part.all_pages(&Recorder::new("sts", "us-east-1"), got).is_none());
        assert_eq!(part.degraded.len(), 1);
    }
}
