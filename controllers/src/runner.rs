//! Runs of Scans, outside reconcile: a task per Scan UID with a cancellation token, and the
//! evaluation slots shared fairly between namespaces.
//!
//! Reconcile only starts, observes and cancels runs ([`Runs`]); a run writes its own status as it
//! goes and, when it ends, asks for a reconcile of its Scan (the trigger stream of the Scan
//! controller), which then decides what comes next from the status the run wrote.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Why a run was cancelled (the run writes status accordingly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The Scan is being deleted: write nothing, go.
    Deleted,
    /// The spec changed: the next run (of the new generation) starts right after.
    SpecChanged,
    /// The operator is stopping: record the run as interrupted for the next leader.
    Shutdown,
}

/// A run's handle: its cancellation token and why it was cancelled.
#[derive(Debug, Clone)]
pub struct RunToken {
    token: CancellationToken,
    reason: Arc<Mutex<Option<CancelReason>>>,
}

impl RunToken {
    fn new() -> RunToken {
        RunToken {
            token: CancellationToken::new(),
            reason: Arc::new(Mutex::new(None)),
        }
    }

    fn cancel(&self, why: CancelReason) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert(why);
        }
        self.token.cancel();
    }

    /// Completes when the run is cancelled.
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Why the run was cancelled, once it was.
    pub fn reason(&self) -> Option<CancelReason> {
        self.reason.lock().ok().and_then(|r| *r)
    }
}

struct Entry {
    seq: u64,
    generation: Option<i64>,
    token: RunToken,
    done: Option<oneshot::Receiver<()>>,
}

/// The runs in progress, by Scan UID.
pub struct Runs<R> {
    inner: Mutex<(u64, HashMap<String, Entry>)>,
    done: UnboundedSender<R>,
}

impl<R> std::fmt::Debug for Runs<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.inner.lock().map(|m| m.1.len()).unwrap_or(0);
        f.debug_struct("Runs").field("running", &n).finish()
    }
}

impl<R: Send + 'static> Runs<R> {
    /// `done` receives `reference` of every run that ends (the Scan controller's trigger).
    pub fn new(done: UnboundedSender<R>) -> Runs<R> {
        Runs {
            inner: Mutex::new((0, HashMap::new())),
            done,
        }
    }

    /// The generation of the run in progress for `uid`, if one is.
    pub fn running(&self, uid: &str) -> Option<Option<i64>> {
        self.inner
            .lock()
            .ok()
            .and_then(|m| m.1.get(uid).map(|e| e.generation))
    }

    /// Number of runs in progress.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|m| m.1.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start a run for `uid` (of `generation`) unless one is in progress. `run` gets the run's
    /// token; when it returns, `reference` is sent to the trigger.
    pub fn start<F, Fut>(self: &Arc<Self>, uid: &str, generation: Option<i64>, reference: R, run: F) -> bool
    where
        F: FnOnce(RunToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Ok(mut m) = self.inner.lock() else {
            return false;
        };
        if m.1.contains_key(uid) {
            return false;
        }
        m.0 += 1;
        let seq = m.0;
        let token = RunToken::new();
        let (tx, rx) = oneshot::channel();
        m.1.insert(
            uid.to_string(),
            Entry {
                seq,
                generation,
                token: token.clone(),
                done: Some(rx),
            },
        );
        drop(m);
        let fut = run(token);
        let this = self.clone();
        let uid = uid.to_string();
        tokio::spawn(async move {
            fut.await;
            if let Ok(mut m) = this.inner.lock() {
                if m.1.get(&uid).is_some_and(|e| e.seq == seq) {
                    m.1.remove(&uid);
                }
            }
            let _ = tx.send(());
            let _ = this.done.unbounded_send(reference);
        });
        true
    }

    /// Cancel the run of `uid` and wait (at most `wait`) until it has ended. `true` when no run
    /// is left.
    pub async fn cancel(&self, uid: &str, why: CancelReason, wait: Duration) -> bool {
        let done = match self.inner.lock() {
            Ok(mut m) => match m.1.get_mut(uid) {
                Some(e) => {
                    e.token.cancel(why);
                    e.done.take()
                }
                None => return true,
            },
            Err(_) => return false,
        };
        match done {
            Some(rx) => tokio::time::timeout(wait, rx).await.is_ok(),
            // Another caller is already waiting for it.
            None => false,
        }
    }

    /// Cancel every run (the operator is stopping) and wait until they have recorded it (at
    /// most `wait`).
    pub async fn shutdown(&self, wait: Duration) -> usize {
        let waits: Vec<oneshot::Receiver<()>> = match self.inner.lock() {
            Ok(mut m) => {
                m.1.values_mut()
                    .filter_map(|e| {
                        e.token.cancel(CancelReason::Shutdown);
                        e.done.take()
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let n = waits.len();
        let _ = tokio::time::timeout(wait, futures::future::join_all(waits)).await;
        n
    }
}

/// Evaluation slots shared between namespaces: at most `n` runs evaluate at once, and when a slot
/// frees up it goes to the next namespace in turn (round robin over the namespaces that wait),
/// first come first served within a namespace. One tenant with many Scans cannot starve another.
#[derive(Debug)]
pub struct FairSlots {
    state: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    free: usize,
    waiting: BTreeMap<String, VecDeque<oneshot::Sender<()>>>,
    /// The namespace served last.
    last: Option<String>,
}

/// A held evaluation slot; dropping it passes the slot on.
#[derive(Debug)]
pub struct SlotPermit {
    slots: Arc<FairSlots>,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.slots.release();
    }
}

impl FairSlots {
    pub fn new(n: usize) -> Arc<FairSlots> {
        Arc::new(FairSlots {
            state: Mutex::new(SlotState {
                free: n.max(1),
                ..SlotState::default()
            }),
        })
    }

    /// A slot now, if one is free and nobody waits for one.
    pub fn try_acquire(self: &Arc<Self>, ns: &str) -> Option<SlotPermit> {
        let mut s = self.state.lock().ok()?;
        if s.free > 0 && s.waiting.values().all(VecDeque::is_empty) {
            s.free -= 1;
            s.last = Some(ns.to_string());
            return Some(SlotPermit { slots: self.clone() });
        }
        None
    }

    /// Wait for a slot (cancel by dropping the future).
    pub async fn acquire(self: &Arc<Self>, ns: &str) -> SlotPermit {
        loop {
            if let Some(p) = self.try_acquire(ns) {
                return p;
            }
            let (tx, rx) = oneshot::channel();
            match self.state.lock() {
                Ok(mut s) => s.waiting.entry(ns.to_string()).or_default().push_back(tx),
                Err(_) => return SlotPermit { slots: self.clone() },
            }
            if rx.await.is_ok() {
                // The releaser handed its slot to us.
                return SlotPermit { slots: self.clone() };
            }
        }
    }

    /// Number of runs waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.waiting.values().map(VecDeque::len).sum())
            .unwrap_or(0)
    }

    fn release(&self) {
        let Ok(mut s) = self.state.lock() else { return };
        loop {
            let Some(ns) = next_namespace(&s.waiting, s.last.as_deref()) else {
                s.free += 1;
                return;
            };
            let tx = s.waiting.get_mut(&ns).and_then(VecDeque::pop_front);
            if s.waiting.get(&ns).is_some_and(VecDeque::is_empty) {
                s.waiting.remove(&ns);
            }
            if let Some(tx) = tx {
                if tx.send(()).is_ok() {
                    s.last = Some(ns);
                    return;
                }
                // That waiter was cancelled: try the next one.
            }
        }
    }
}

/// The first waiting namespace after `last` in name order, wrapping around (pure).
fn next_namespace(
    waiting: &BTreeMap<String, VecDeque<oneshot::Sender<()>>>,
    last: Option<&str>,
) -> Option<String> {
    let busy = |(k, q): (&String, &VecDeque<oneshot::Sender<()>>)| (!q.is_empty()).then(|| k.clone());
    let after = last.and_then(|l| {
        waiting
            .range::<str, _>((std::ops::Bound::Excluded(l), std::ops::Bound::Unbounded))
            .find_map(busy)
    });
    after.or_else(|| waiting.iter().find_map(busy))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn slots_go_round_robin_between_namespaces() {
        let slots = FairSlots::new(1);
        let first = slots.try_acquire("a").unwrap();
        assert!(slots.try_acquire("b").is_none());
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Tenant a queues three runs before tenant b queues one.
        for (i, ns) in ["a", "a", "a", "b"].into_iter().enumerate() {
            let (mine, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let p = mine.acquire(ns).await;
                order.lock().unwrap().push(format!("{ns}{i}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(p);
            }));
            while slots.waiting() < i + 1 {
                tokio::task::yield_now().await;
            }
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        // After a's run, b goes first, then a's queue in order.
        assert_eq!(*order.lock().unwrap(), vec!["b3", "a0", "a1", "a2"]);
        assert!(slots.try_acquire("c").is_some(), "every slot is free again");
    }

    #[tokio::test]
    async fn a_cancelled_waiter_does_not_swallow_the_slot() {
        let slots = FairSlots::new(1);
        let held = slots.try_acquire("a").unwrap();
        let waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire("b").await }
        });
        while slots.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        drop(held);
        assert!(slots.try_acquire("c").is_some());
    }

    #[tokio::test]
    async fn a_run_is_cancelled_and_reports_why_and_triggers_its_owner() {
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<&'static str>();
        let runs = Arc::new(Runs::new(tx));
        let seen = Arc::new(Mutex::new(None));
        let started = runs.start("uid-1", Some(3), "scan-1", {
            let seen = seen.clone();
            move |token: RunToken| async move {
                token.cancelled().await;
                *seen.lock().unwrap() = token.reason();
            }
        });
        assert!(started);
        assert!(
            !runs.start("uid-1", Some(3), "scan-1", |_t: RunToken| async {}),
            "one run per UID"
        );
        assert_eq!(runs.running("uid-1"), Some(Some(3)));
        assert!(
            runs.cancel("uid-1", CancelReason::Deleted, Duration::from_secs(5))
                .await
        );
        assert_eq!(*seen.lock().unwrap(), Some(CancelReason::Deleted));
        use futures::StreamExt;
        assert_eq!(rx.next().await, Some("scan-1"));
        assert_eq!(runs.running("uid-1"), None);
        assert!(
            runs.cancel("uid-1", CancelReason::Deleted, Duration::from_secs(1))
                .await
        );
    }

    #[tokio::test]
    async fn shutdown_cancels_every_run_and_waits_for_them() {
        let (tx, _rx) = futures::channel::mpsc::unbounded::<u8>();
        let runs = Arc::new(Runs::new(tx));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        for (uid, r) in [("a", 1u8), ("b", 2)] {
            let recorded = recorded.clone();
            runs.start(uid, None, r, move |token: RunToken| async move {
                token.cancelled().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                recorded.lock().unwrap().push(token.reason());
            });
        }
        assert_eq!(runs.shutdown(Duration::from_secs(5)).await, 2);
        assert_eq!(
            *recorded.lock().unwrap(),
            vec![Some(CancelReason::Shutdown), Some(CancelReason::Shutdown)]
        );
    }
}
