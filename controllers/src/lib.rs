//! Reconcilers of seg's custom resources.
//!
//! Each reconcile is a pipeline: fetch, validate, build (pure), apply, status. The pure steps live
//! in modules without any Kubernetes client so they are tested without an API server.

pub mod findings;
