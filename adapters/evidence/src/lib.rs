//! Evidence store (work in progress).
