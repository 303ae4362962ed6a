//! The pure core of seg.
//!
//! SEG-001 data contracts ([`model`]), the five ports ([`ports`]), policy bundles ([`bundle`],
//! [`lint`], [`vectors`]), Rego evaluation with regorus ([`policy`], [`scan`], size bounds in
//! [`guard`]), content-hash ids ([`ids`]), OCSF mapping ([`ocsf`]) and DSSE signing ([`dsse`]).
//!
//! Nothing here performs I/O: no filesystem, no network, no clock. Inputs come in as values
//! (bundle files as bytes, inventory as text, the evaluation time as a [`time::Timestamp`]).

pub mod bundle;
pub mod dsse;
pub mod error;
pub mod guard;
pub mod ids;
pub mod inventory;
pub mod lint;
pub mod model;
pub mod ocsf;
pub mod policy;
pub mod ports;
pub mod scan;
pub mod time;
pub mod vectors;

pub use error::EngineError;
