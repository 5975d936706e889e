//! `provider/model` clients that a call names but the registry does not
//! define: built on first use and kept in the registry, up to a bound, so
//! repeated calls reuse them (and their credentials' lookups).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use super::source::{ClientSource, MAX_NAME_BYTES};
use super::ClientNode;
use crate::error::Error;
use crate::providers::spec;
use crate::value::shown;

/// How many shorthand clients a registry keeps. Names come from calls, so
/// the cache is bounded; past it, a shorthand client is built for each call
/// (still sharing the registry's client states and credential caches).
pub const SHORTHAND_CACHE_LIMIT: usize = 256;

#[derive(Default)]
pub(super) struct Shorthands {
    built: RwLock<HashMap<String, Arc<ClientNode>>>,
}

impl fmt::Debug for Shorthands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shorthands")
            .field("kept", &self.len())
            .finish()
    }
}

impl Shorthands {
    pub fn get(&self, name: &str) -> Option<Arc<ClientNode>> {
        let built = self.built.read().unwrap_or_else(|p| p.into_inner());
        built.get(name).cloned()
    }

    /// Keeps `node` if there is room; the one kept first wins a race.
    pub fn keep(&self, node: ClientNode) -> Arc<ClientNode> {
        let mut built = self.built.write().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = built.get(&node.name) {
            return kept.clone();
        }
        let node = Arc::new(node);
        if built.len() < SHORTHAND_CACHE_LIMIT && node.name.len() <= MAX_NAME_BYTES {
            built.insert(node.name.clone(), node.clone());
        }
        node
    }

    pub fn len(&self) -> usize {
        self.built.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The source of the client `provider/model` names: that provider with
/// only `model` set.
pub(super) fn source(name: &str) -> Result<ClientSource, Error> {
    let (provider, model) = name
        .split_once('/')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())
        .ok_or_else(|| Error::config(format!("unknown client {}", shown(name))))?;
    if spec::find(provider).is_none() {
        return Err(Error::config(format!(
            "unknown client {}: {}",
            shown(name),
            super::provider_names::unknown_provider(provider)
        )));
    }
    let mut options = Map::new();
    options.insert("model".into(), Value::String(model.to_owned()));
    Ok(ClientSource {
        name: name.to_owned(),
        provider: provider.to_owned(),
        options,
        retry_policy: None,
    })
}
