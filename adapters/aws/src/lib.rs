//! AWS inventory adapter (work in progress).
