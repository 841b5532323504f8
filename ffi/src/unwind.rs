//! The panic boundary of functions that cannot report errors (accessors, free functions): a
//! panic never crosses into C.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs the body of a function that cannot report errors; a panic gives `fallback`.
pub(crate) fn infallible<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}
