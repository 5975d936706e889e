//! Registry handles: built once (on a dirty scheduler, since configs come
//! in any size), then shared by every call through an `Arc`. A registry
//! edited or reloaded from a handle keeps that handle's client states and
//! credential caches.

use std::sync::Arc;

use rustler::{Encoder, Env, Resource, ResourceArc, Term};
use serde_json::Value;
use switchboard_core::config::RegistrySource;
use switchboard_core::{Error, Registry};

use crate::encode::ExError;
use crate::term::to_value;

pub struct RegistryResource {
    pub registry: Arc<Registry>,
}

#[rustler::resource_impl]
impl Resource for RegistryResource {}

/// `{handle, primary, client_names}`, what `%Switchboard.Registry{}` keeps.
type Built = (ResourceArc<RegistryResource>, Option<String>, Vec<String>);

/// NIF results must be unwind-safe, which a registry is not; so each NIF
/// returns its `{:ok, built} | {:error, error}` already encoded.
fn reply<'a>(env: Env<'a>, result: Result<Built, Error>) -> Term<'a> {
    result.map_err(ExError::from).encode(env)
}

fn built(registry: Result<Registry, Error>) -> Result<Built, Error> {
    let registry = registry?;
    let primary = registry.primary_name().map(str::to_owned);
    let names = registry.client_names().map(str::to_owned).collect();
    let handle = ResourceArc::new(RegistryResource {
        registry: Arc::new(registry),
    });
    Ok((handle, primary, names))
}

fn value(term: Term, what: &str) -> Result<Value, Error> {
    to_value(term, what).map_err(Error::config)
}

fn string(term: Term, what: &str) -> Result<String, Error> {
    match value(term, what)? {
        Value::String(s) => Ok(s),
        _ => Err(Error::config(format!("{what} must be a string"))),
    }
}

fn edit(
    handle: &RegistryResource,
    change: impl FnOnce(&mut RegistrySource) -> Result<(), Error>,
) -> Result<Built, Error> {
    let mut source = handle.registry.source().clone();
    change(&mut source)?;
    built(handle.registry.rebuild(source))
}

#[rustler::nif(schedule = "DirtyCpu")]
fn registry_new<'a>(env: Env<'a>, config: Term<'a>) -> Term<'a> {
    let result = value(config, "config").and_then(|v| built(Registry::from_value(&v)));
    reply(env, result)
}

/// `registry_new/1` for a whole new config, keeping what `handle`'s clients
/// learned (client states, credential caches) for the clients it keeps.
#[rustler::nif(schedule = "DirtyCpu")]
fn registry_reload<'a>(
    env: Env<'a>,
    handle: ResourceArc<RegistryResource>,
    config: Term<'a>,
) -> Term<'a> {
    let result = value(config, "config").and_then(|v| built(handle.registry.reload(&v)));
    reply(env, result)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn registry_add_client<'a>(
    env: Env<'a>,
    handle: ResourceArc<RegistryResource>,
    name: Term<'a>,
    provider: Term<'a>,
    options: Term<'a>,
    retry_policy: Term<'a>,
) -> Term<'a> {
    reply(
        env,
        add_client(&handle, name, provider, options, retry_policy),
    )
}

fn add_client(
    handle: &RegistryResource,
    name: Term,
    provider: Term,
    options: Term,
    retry_policy: Term,
) -> Result<Built, Error> {
    let name = string(name, "name")?;
    let provider = string(provider, "provider")?;
    let options = value(options, "options")?;
    let retry_policy = match value(retry_policy, "retry_policy")? {
        Value::Null => None,
        Value::String(p) => Some(p),
        _ => return Err(Error::config("retry_policy must be a policy name or nil")),
    };
    edit(handle, |s| {
        s.add_client(&name, &provider, &options, retry_policy.as_deref())
    })
}

#[rustler::nif(schedule = "DirtyCpu")]
fn registry_set_primary<'a>(
    env: Env<'a>,
    handle: ResourceArc<RegistryResource>,
    name: Term<'a>,
) -> Term<'a> {
    let result = string(name, "primary").and_then(|name| {
        edit(&handle, |s| {
            s.primary = Some(name);
            Ok(())
        })
    });
    reply(env, result)
}

#[rustler::nif(schedule = "DirtyCpu")]
fn registry_add_retry_policy<'a>(
    env: Env<'a>,
    handle: ResourceArc<RegistryResource>,
    name: Term<'a>,
    policy: Term<'a>,
) -> Term<'a> {
    let result = string(name, "retry policy name").and_then(|name| {
        let policy = value(policy, "policy")?;
        edit(&handle, |s| s.add_retry_policy(&name, &policy))
    });
    reply(env, result)
}
