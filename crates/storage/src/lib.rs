//! Storage (placeholder).
