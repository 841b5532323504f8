//! Interop suites live in tests/.
