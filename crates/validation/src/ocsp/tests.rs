//! Tests of the OCSP core. `interop` checks every kind of response with the real
//! `openssl ocsp` and pkilint (both required: the tests fail, loudly, without them).

mod building;
mod cache;
mod interop;
mod parsing;
mod support;
