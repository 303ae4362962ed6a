//! Leader election with a coordination.k8s.io Lease: only the holder runs the controllers, so two
//! replicas never both write. The holder renews the Lease while it runs ([`hold`]); a holder that
//! cannot renew stops (and is restarted by Kubernetes); one that shuts down releases it
//! ([`release`]).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};

use crate::error::Error;

/// Where the Lease lives and who we are.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
}

/// What a Lease says about us (pure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: renew.
    Renew,
    /// Free or expired: take it.
    Take,
    /// Someone else holds it and it has not expired.
    Wait,
}

/// Decide from the current Lease spec (pure).
pub fn decide(spec: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else { return Decision::Take };
    match spec.holder_identity.as_deref() {
        Some(h) if h == me => Decision::Renew,
        None | Some("") => Decision::Take,
        Some(_) => {
            let secs = i64::from(spec.lease_duration_seconds.unwrap_or(15));
            match &spec.renew_time {
                Some(MicroTime(t)) if t.as_second() + secs > now.as_second() => Decision::Wait,
                _ => Decision::Take,
            }
        }
    }
}

/// One attempt to acquire or renew; `true` when we hold the Lease afterwards.
pub async fn try_acquire(client: &Client, cfg: &LeaseConfig) -> Result<bool, Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let now = Timestamp::now();
    let secs = i32::try_from(cfg.duration.as_secs()).unwrap_or(15).max(1);
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(cfg.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
        Some(mut lease) => {
            let decision = decide(lease.spec.as_ref(), &cfg.identity, now);
            if decision == Decision::Wait {
                return Ok(false);
            }
            let mut spec = lease.spec.take().unwrap_or_default();
            if decision == Decision::Take {
                spec.holder_identity = Some(cfg.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.renew_time = Some(MicroTime(now));
            spec.lease_duration_seconds = Some(secs);
            lease.spec = Some(spec);
            // The resourceVersion in `lease` makes this a compare-and-swap: if another replica
            // wrote in between, the replace fails with 409 and we did not get the Lease.
            match api.replace(&cfg.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Wait until we hold the Lease.
pub async fn acquire(client: &Client, cfg: &LeaseConfig) -> Result<(), Error> {
    let mut announced = false;
    loop {
        if try_acquire(client, cfg).await? {
            return Ok(());
        }
        if !announced {
            eprintln!(
                "seg operator: waiting for leadership (Lease {}/{})",
                cfg.namespace, cfg.name
            );
            announced = true;
        }
        tokio::time::sleep(cfg.duration / 3).await;
    }
}

/// Renew the Lease every third of its duration until leadership is lost; returns why. A renewal
/// that fails (the API server unreachable) is retried while the Lease is still ours for sure;
/// once two thirds of the duration have passed since the last renewal, the holder gives up, so
/// that it stops before another replica may take the Lease.
pub async fn hold(client: &Client, cfg: &LeaseConfig) -> Error {
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.duration / 3).await;
        match try_acquire(client, cfg).await {
            Ok(true) => renewed = tokio::time::Instant::now(),
            Ok(false) => {
                return Error::invalid(
                    "LeaderLost",
                    format!("Lease {}/{} is held by another replica", cfg.namespace, cfg.name),
                )
            }
            Err(e) if !gives_up(renewed.elapsed(), cfg.duration) => {
                eprintln!(
                    "seg operator: cannot renew the Lease {}/{} ({e}); retrying",
                    cfg.namespace, cfg.name
                );
            }
            Err(e) => return e,
        }
    }
}

/// Whether a holder whose last renewal was `since` ago must stop: the next attempt would come
/// after the Lease may have expired (pure).
fn gives_up(since: Duration, lease: Duration) -> bool {
    since + lease / 3 >= lease
}

/// Give the Lease up on shutdown, so that a standby takes over at its next attempt instead of
/// waiting for the Lease to expire. `true` when we held it and cleared it.
pub async fn release(client: &Client, cfg: &LeaseConfig) -> Result<bool, Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let Some(mut lease) = api.get_opt(&cfg.name).await? else {
        return Ok(false);
    };
    let mut spec = lease.spec.take().unwrap_or_default();
    if spec.holder_identity.as_deref() != Some(cfg.identity.as_str()) {
        return Ok(false);
    }
    spec.holder_identity = None;
    lease.spec = Some(spec);
    match api.replace(&cfg.name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed: i64, secs: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
            lease_duration_seconds: Some(secs),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn only_an_expired_or_own_lease_is_taken() {
        let now = Timestamp::from_second(1_000).unwrap();
        assert_eq!(decide(None, "a", now), Decision::Take);
        assert_eq!(decide(Some(&spec("a", 999, 15)), "a", now), Decision::Renew);
        assert_eq!(decide(Some(&spec("b", 990, 15)), "a", now), Decision::Wait);
        assert_eq!(decide(Some(&spec("b", 980, 15)), "a", now), Decision::Take);
        let released = LeaseSpec {
            holder_identity: None,
            ..spec("b", 999, 15)
        };
        assert_eq!(decide(Some(&released), "a", now), Decision::Take);
    }

    #[test]
    fn a_holder_that_cannot_renew_stops_before_its_lease_can_expire() {
        let lease = Duration::from_secs(15);
        assert!(!gives_up(Duration::from_secs(5), lease));
        assert!(!gives_up(Duration::from_secs(9), lease));
        assert!(gives_up(Duration::from_secs(10), lease));
        assert!(gives_up(Duration::from_secs(20), lease));
    }
}
