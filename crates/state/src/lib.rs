//! World state.
