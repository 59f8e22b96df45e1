//! The validation authority (placeholder until path validation lands in this crate).
