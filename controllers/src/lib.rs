//! Reconcilers of seg custom resources.
