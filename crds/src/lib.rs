//! Kubernetes API types of seg. The CustomResource definitions land with the operator core.
