//! The registry as the user wrote it, kept so that `add_client/5`,
//! `set_primary/2` and `add_retry_policy/3` can edit it and rebuild.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::breaker::BreakerSettings;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::value::{shown, type_name};

pub(super) const MAX_NAME_BYTES: usize = 256;

#[derive(Clone, PartialEq)]
pub struct ClientSource {
    pub name: String,
    pub provider: String,
    /// As given, credentials included: never shown by `Debug`.
    pub options: Map<String, Value>,
    pub retry_policy: Option<String>,
}

impl std::fmt::Debug for ClientSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSource")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .field("retry_policy", &self.retry_policy)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct RegistrySource {
    pub primary: Option<String>,
    pub clients: Vec<ClientSource>,
    /// User policies; `DefaultRetry` is built in unless redefined.
    pub retry_policies: Vec<Arc<RetryPolicy>>,
    /// The `circuit_breaker` of every leaf that sets none of its own.
    pub circuit_breaker: Option<BreakerSettings>,
}

impl RegistrySource {
    pub fn parse(config: &Value) -> Result<Self, Error> {
        let map = config.as_object().ok_or_else(|| {
            Error::config(format!(
                "the registry config must be a map with :clients, got {}",
                type_name(config)
            ))
        })?;
        if let Some(k) = map.keys().find(|k| {
            !matches!(
                k.as_str(),
                "primary" | "clients" | "retry_policies" | "circuit_breaker"
            )
        }) {
            return Err(Error::config(format!(
                "unknown registry key {k:?} (expected primary, clients, retry_policies, circuit_breaker)"
            )));
        }
        let mut source = RegistrySource::default();
        if let Some(value) = map.get("circuit_breaker") {
            source.circuit_breaker = BreakerSettings::parse("the registry", value)?;
        }
        match map.get("retry_policies") {
            None | Some(Value::Null) => {}
            Some(Value::Object(policies)) => {
                for (name, policy) in policies {
                    source.add_retry_policy(name, policy)?;
                }
            }
            Some(other) => {
                return Err(Error::config(format!(
                    "retry_policies must be a map of name => policy, got {}",
                    type_name(other)
                )))
            }
        }
        match map.get("clients") {
            Some(Value::Array(list)) => {
                for (i, item) in list.iter().enumerate() {
                    let client = item.as_object().ok_or_else(|| {
                        Error::config(format!(
                            "clients[{i}] must be a map, got {}",
                            type_name(item)
                        ))
                    })?;
                    let name = match client.get("name") {
                        Some(Value::String(n)) => n.clone(),
                        Some(other) => {
                            return Err(Error::config(format!(
                                "clients[{i}]: name must be a string, got {}",
                                type_name(other)
                            )))
                        }
                        None => return Err(Error::config(format!("clients[{i}] has no name"))),
                    };
                    source.clients.push(client_source(&name, client)?);
                }
            }
            Some(Value::Object(by_name)) => {
                for (name, item) in by_name {
                    let client = item.as_object().ok_or_else(|| {
                        Error::config(format!(
                            "client {} must be a map, got {}",
                            shown(name),
                            type_name(item)
                        ))
                    })?;
                    if let Some(Value::String(inner)) = client.get("name") {
                        if inner != name {
                            return Err(Error::config(format!(
                                "client {} has a different name inside: {}",
                                shown(name),
                                shown(inner)
                            )));
                        }
                    }
                    source.clients.push(client_source(name, client)?);
                }
            }
            Some(other) => {
                return Err(Error::config(format!(
                    "clients must be a list or a map of clients, got {}",
                    type_name(other)
                )))
            }
            None => return Err(Error::config("the registry config has no :clients")),
        }
        source.primary = match map.get("primary") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(other) => {
                return Err(Error::config(format!(
                    "primary must be a client name (string), got {}",
                    type_name(other)
                )))
            }
        };
        Ok(source)
    }

    pub fn retry_policy(&self, name: &str) -> Option<Arc<RetryPolicy>> {
        self.retry_policies
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .or_else(|| (name == "DefaultRetry").then(|| Arc::new(RetryPolicy::default_retry())))
    }

    /// Adds or replaces a retry policy.
    pub fn add_retry_policy(&mut self, name: &str, policy: &Value) -> Result<(), Error> {
        check_name("retry policy", name)?;
        let policy = Arc::new(RetryPolicy::parse(name, policy)?);
        self.retry_policies.retain(|p| p.name != name);
        self.retry_policies.push(policy);
        Ok(())
    }

    /// Adds a client, or replaces the one with the same name.
    pub fn add_client(
        &mut self,
        name: &str,
        provider: &str,
        options: &Value,
        retry_policy: Option<&str>,
    ) -> Result<(), Error> {
        let mut client = Map::new();
        client.insert("provider".into(), Value::String(provider.to_owned()));
        client.insert("options".into(), options.clone());
        if let Some(p) = retry_policy {
            client.insert("retry_policy".into(), Value::String(p.to_owned()));
        }
        let client = client_source(name, &client)?;
        match self.clients.iter_mut().find(|c| c.name == name) {
            Some(existing) => *existing = client,
            None => self.clients.push(client),
        }
        Ok(())
    }
}

fn check_name(what: &str, name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::config(format!("a {what} name must not be empty")));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::config(format!(
            "a {what} name is {} bytes long; the limit is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::config(format!(
            "{what} name {name:?} contains control characters"
        )));
    }
    Ok(())
}

fn client_source(name: &str, client: &Map<String, Value>) -> Result<ClientSource, Error> {
    check_name("client", name)?;
    let ctx = format!("client {name:?}");
    if let Some(k) = client
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "provider" | "options" | "retry_policy"))
    {
        return Err(Error::config(format!(
            "{ctx}: unknown key {k:?} (expected name, provider, options, retry_policy)"
        )));
    }
    let provider = match client.get("provider") {
        Some(Value::String(p)) => p.clone(),
        Some(other) => {
            return Err(Error::config(format!(
                "{ctx}: provider must be a string, got {}",
                type_name(other)
            )))
        }
        None => return Err(Error::config(format!("{ctx}: missing provider"))),
    };
    let options = match client.get("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(other) => {
            return Err(Error::config(format!(
                "{ctx}: options must be a map, got {}",
                type_name(other)
            )))
        }
    };
    let retry_policy = match client.get("retry_policy") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(other) => {
            return Err(Error::config(format!(
                "{ctx}: retry_policy must be a policy name (string), got {}",
                type_name(other)
            )))
        }
    };
    Ok(ClientSource {
        name: name.to_owned(),
        provider,
        options,
        retry_policy,
    })
}
