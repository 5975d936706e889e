//! The conformance tests (recorded provider traffic and official vectors in
//! `../shared/conformance`), in one binary: each file is a module, so cargo
//! links once rather than once per file.

mod aws;
mod google_auth;
mod google_stream;
mod stream;
