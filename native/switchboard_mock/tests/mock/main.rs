//! The mock server's tests, in one binary: each file is a module, so cargo
//! links once rather than once per file (about 40 s each in a release build
//! with thin LTO, minutes of a cold `make test`).

mod common;

mod aws;
mod bedrock;
mod control;
mod disconnect;
mod faults;
mod files;
mod google;
mod load;
mod responses;
mod routes;
mod wire;
