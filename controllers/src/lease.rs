//! Leader election with a coordination.k8s.io Lease: only the holder runs the controllers, so two
//! replicas never both write. The holder renews the Lease while it runs ([`hold`]); a holder that
//! cannot renew stops (and is restarted by Kubernetes); one that shuts down releases it
//! ([`release`]).

use std::time::Duration;

use tokio::time::Instant;

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
                Some(MicroTime(t))
                    if t.as_nanosecond() + i128::from(secs) * 1_000_000_000 > now.as_nanosecond() =>
                {
                    Decision::Wait
                }
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

/// Wait until we hold the Lease; returns when the successful attempt started (the renewal
/// time it wrote is no earlier), which [`hold`] counts from.
pub async fn acquire(client: &Client, cfg: &LeaseConfig) -> Result<Instant, Error> {
    let mut announced = false;
    loop {
        let started = Instant::now();
        if try_acquire(client, cfg).await? {
            return Ok(started);
        }
        if !announced {
            tracing::info!("waiting for leadership (Lease {}/{})", cfg.namespace, cfg.name);
            announced = true;
        }
        tokio::time::sleep(cfg.duration / 3).await;
    }
}

/// Renew the Lease every third of its duration until leadership is lost; returns why.
/// `renewed` is when the last successful acquisition or renewal started. A renewal that fails
/// (the API server unreachable) is retried while the Lease is still ours for sure: every attempt
/// must complete within two thirds of the duration after the last renewal started, else the
/// holder gives up, so that it stops before another replica may take the Lease. Holders and
/// standbys compare the Lease's renewal time with their own clocks: keep the nodes' clocks in
/// sync to well under a third of the duration.
pub async fn hold(client: &Client, cfg: &LeaseConfig, mut renewed: Instant) -> Error {
    loop {
        tokio::time::sleep_until(renewed + cfg.duration / 3).await;
        loop {
            let started = Instant::now();
            let deadline = give_up_at(renewed, cfg.duration);
            if started >= deadline {
                return lost(cfg, "no renewal succeeded in time");
            }
            match tokio::time::timeout_at(deadline, try_acquire(client, cfg)).await {
                Ok(Ok(true)) => {
                    renewed = started;
                    break;
                }
                Ok(Ok(false)) => return lost(cfg, "it is held by another replica"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot renew the Lease {}/{}; retrying", cfg.namespace, cfg.name);
                    tokio::time::sleep(Duration::from_millis(500).min(cfg.duration / 10)).await;
                }
                Err(_) => return lost(cfg, "the renewal did not complete in time"),
            }
        }
    }
}

fn lost(cfg: &LeaseConfig, why: &str) -> Error {
    Error::invalid(
        "LeaderLost",
        format!("Lease {}/{}: {why}", cfg.namespace, cfg.name),
    )
}

/// When a holder whose last renewal started at `renewed` must have stopped trying: two thirds of
/// the duration later, a third before a standby may take the Lease (pure).
fn give_up_at(renewed: Instant, lease: Duration) -> Instant {
    renewed + lease * 2 / 3
}

/// Give the Lease up on shutdown, so that a standby takes over at its next attempt instead of
/// waiting for the Lease to expire. `true` when we held it and cleared it; `false` when another
/// replica holds it (or there is none). A conflict (a renewal of ours that was still on its way)
/// is retried once.
pub async fn release(client: &Client, cfg: &LeaseConfig) -> Result<bool, Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    for attempt in 0..2 {
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
            Ok(_) => return Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 && attempt == 0 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
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
    fn a_holder_gives_up_a_third_of_the_duration_before_its_lease_can_expire() {
        let t0 = Instant::now();
        let lease = Duration::from_secs(15);
        assert_eq!(give_up_at(t0, lease), t0 + Duration::from_secs(10));
    }

    #[test]
    fn expiry_is_compared_below_the_second() {
        let renewed = Timestamp::from_second(1_000).unwrap();
        let lease = LeaseSpec {
            holder_identity: Some("b".into()),
            renew_time: Some(MicroTime(renewed)),
            lease_duration_seconds: Some(2),
            ..LeaseSpec::default()
        };
        let at = |ms: i64| {
            renewed
                .checked_add(k8s_openapi::jiff::SignedDuration::from_millis(ms))
                .unwrap()
        };
        assert_eq!(decide(Some(&lease), "a", at(1_999)), Decision::Wait);
        assert_eq!(decide(Some(&lease), "a", at(2_000)), Decision::Take);
    }

    /// An API server that accepts connections and never answers: the holder must stop before
    /// its Lease could expire.
    #[tokio::test]
    async fn a_holder_stops_before_its_lease_expires_when_renewals_hang() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _accept = std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in listener.incoming() {
                held.push(c); // keep every connection open, unanswered
            }
        });
        let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
        let client = Client::try_from(config).unwrap();
        let cfg = LeaseConfig {
            namespace: "seg-system".into(),
            name: "seg-operator".into(),
            identity: "a".into(),
            duration: Duration::from_millis(1500),
        };
        let renewed = Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(10), hold(&client, &cfg, renewed))
            .await
            .expect("hold never gave up");
        let took = renewed.elapsed();
        assert!(err.to_string().contains("did not complete in time"), "{err}");
        assert!(took >= Duration::from_millis(1000), "{took:?}");
        assert!(
            took < cfg.duration,
            "still running when the Lease could expire: {took:?}"
        );
    }
}
