//! The client registry: parsed and validated once, then shared read-only by
//! every call (except the round-robin cursors, which are atomics).

pub mod http;
mod source;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value};

pub use http::HttpSettings;
pub use source::{ClientSource, RegistrySource};

use crate::error::Error;
use crate::providers::{self, spec, ClientOptions, Provider, ProviderSpec, SpecKind};
use crate::retry::RetryPolicy;
use crate::value::{shown, Options};

/// How deep fallback and round-robin clients may nest. Calls run strategies
/// by recursion, so the depth must be bounded; real configs nest two or
/// three levels.
pub const MAX_STRATEGY_DEPTH: usize = 32;

/// What a leaf client needs to make a request.
pub struct Leaf {
    pub provider: Box<dyn Provider>,
    /// The connection pool, chosen by the engine on the first attempt:
    /// building a registry opens and allocates nothing for the network.
    pub transport: OnceLock<reqwest::Client>,
    pub http: HttpSettings,
    pub finish_reason_allow_list: Option<Vec<String>>,
    pub finish_reason_deny_list: Option<Vec<String>>,
    /// `supports_streaming: false` makes a stream call send one plain
    /// request and deliver the answer as a single chunk.
    pub supports_streaming: bool,
}

/// The provider is left out: its URL may hold userinfo or a key in the
/// query, and its `Debug` is the provider's own.
impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("http", &self.http)
            .field("supports_streaming", &self.supports_streaming)
            .field("finish_reason_allow_list", &self.finish_reason_allow_list)
            .field("finish_reason_deny_list", &self.finish_reason_deny_list)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum NodeKind {
    Leaf(Leaf),
    Fallback(Vec<usize>),
    RoundRobin {
        children: Vec<usize>,
        start: usize,
        /// Attempts made so far through this client, by every call.
        next: AtomicUsize,
    },
}

#[derive(Debug)]
pub struct ClientNode {
    pub name: String,
    pub provider: &'static str,
    pub kind: NodeKind,
    pub retry: Option<Arc<RetryPolicy>>,
    pub total_timeout: Option<Duration>,
}

#[derive(Debug)]
pub struct Registry {
    pub clients: Vec<ClientNode>,
    by_name: HashMap<String, usize>,
    pub primary: Option<usize>,
    source: RegistrySource,
}

impl Registry {
    /// Parses and validates a `client_registry` map.
    pub fn from_value(config: &Value) -> Result<Registry, Error> {
        Registry::build(RegistrySource::parse(config)?)
    }

    pub fn source(&self) -> &RegistrySource {
        &self.source
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Client names in configuration order (shorthand clients included).
    pub fn client_names(&self) -> impl Iterator<Item = &str> {
        self.clients.iter().map(|c| c.name.as_str())
    }

    pub fn primary_name(&self) -> Option<&str> {
        self.primary.map(|i| self.clients[i].name.as_str())
    }

    /// A leaf for a `provider/model` name that the registry does not define,
    /// built on demand for a single call.
    pub fn shorthand(&self, name: &str) -> Result<ClientNode, Error> {
        build_node(&shorthand_source(name)?, &self.by_name, &self.source)
    }

    /// Builds the registry from a source that may have been edited.
    pub fn build(mut source: RegistrySource) -> Result<Registry, Error> {
        // Shorthand `provider/model` references become ordinary clients.
        let mut referenced: Vec<String> = source.primary.iter().cloned().collect();
        for c in &source.clients {
            referenced.extend(strategy_of(c)?.into_iter().flatten());
        }
        let mut defined: HashSet<String> = source.clients.iter().map(|c| c.name.clone()).collect();
        for name in referenced {
            if name.contains('/') && !defined.contains(&name) {
                source.clients.push(shorthand_source(&name)?);
                defined.insert(name);
            }
        }

        let mut by_name = HashMap::with_capacity(source.clients.len());
        for (i, c) in source.clients.iter().enumerate() {
            if by_name.insert(c.name.clone(), i).is_some() {
                return Err(Error::config(format!("duplicate client name {:?}", c.name)));
            }
        }
        let clients = source
            .clients
            .iter()
            .map(|c| build_node(c, &by_name, &source))
            .collect::<Result<Vec<_>, _>>()?;
        check_graph(&clients)?;
        let primary = match &source.primary {
            Some(p) => Some(*by_name.get(p).ok_or_else(|| {
                Error::config(format!(
                    "primary client {} is not defined in clients",
                    shown(p)
                ))
            })?),
            None if clients.len() == 1 => Some(0),
            None => None,
        };
        Ok(Registry {
            clients,
            by_name,
            primary,
            source,
        })
    }
}

fn shorthand_source(name: &str) -> Result<ClientSource, Error> {
    let (provider, model) = name
        .split_once('/')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())
        .ok_or_else(|| Error::config(format!("unknown client {}", shown(name))))?;
    if spec::find(provider).is_none() {
        return Err(Error::config(format!(
            "unknown client {}: {} is not a known provider",
            shown(name),
            shown(provider)
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

fn ctx(c: &ClientSource) -> String {
    format!("client {:?}", c.name)
}

/// The `strategy` list of a fallback / round-robin client, None for leaves.
fn strategy_of(c: &ClientSource) -> Result<Option<Vec<String>>, Error> {
    match spec::find(&c.provider) {
        Some(s) if s.is_strategy() => {
            let ctx = ctx(c);
            let list = Options::new(&ctx, &c.options)
                .string_list("strategy")?
                .ok_or_else(|| {
                    Error::config(format!("{ctx}: missing required option \"strategy\""))
                })?;
            if list.is_empty() {
                return Err(Error::config(format!(
                    "{ctx}: option \"strategy\" is empty"
                )));
            }
            Ok(Some(list))
        }
        _ => Ok(None),
    }
}

fn build_node(
    c: &ClientSource,
    by_name: &HashMap<String, usize>,
    source: &RegistrySource,
) -> Result<ClientNode, Error> {
    let ctx = ctx(c);
    let spec: &'static ProviderSpec = spec::find(&c.provider)
        .ok_or_else(|| Error::config(format!("{ctx}: unknown provider {}", shown(&c.provider))))?;
    let provider = spec.name;
    let retry = match &c.retry_policy {
        None => None,
        Some(name) => Some(source.retry_policy(name).ok_or_else(|| {
            Error::config(format!("{ctx}: unknown retry_policy {}", shown(name)))
        })?),
    };
    let opts = Options::new(&ctx, &c.options);
    let kind = match strategy_of(c)? {
        Some(names) => {
            let children = names
                .iter()
                .map(|n| {
                    by_name.get(n).copied().ok_or_else(|| {
                        Error::config(format!("{ctx}: strategy names unknown client {}", shown(n)))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(spec.kind, SpecKind::Fallback) {
                opts.reject_unknown(&["strategy", "http"])?;
                NodeKind::Fallback(children)
            } else {
                opts.reject_unknown(&["strategy", "start", "http"])?;
                let start = opts.u64("start")?.unwrap_or(0) as usize;
                if start >= children.len() {
                    return Err(Error::config(format!(
                        "{ctx}: option \"start\" must be below the strategy's length {}",
                        children.len()
                    )));
                }
                NodeKind::RoundRobin {
                    children,
                    start,
                    next: AtomicUsize::new(0),
                }
            }
        }
        None => {
            let options = ClientOptions::parse(spec, ctx.clone(), &c.options)?;
            NodeKind::Leaf(Leaf {
                http: HttpSettings::parse(&ctx, opts.map("http")?)?,
                finish_reason_allow_list: opts.string_list("finish_reason_allow_list")?,
                finish_reason_deny_list: opts.string_list("finish_reason_deny_list")?,
                supports_streaming: opts.bool("supports_streaming")?.unwrap_or(true),
                provider: providers::build(&options)?,
                transport: OnceLock::new(),
            })
        }
    };
    let total_timeout = match &kind {
        NodeKind::Leaf(_) => None,
        _ => HttpSettings::parse_total(&ctx, opts.map("http")?)?,
    };
    if let NodeKind::Leaf(leaf) = &kind {
        if leaf.finish_reason_allow_list.is_some() && leaf.finish_reason_deny_list.is_some() {
            return Err(Error::config(format!(
                "{ctx}: set finish_reason_allow_list or finish_reason_deny_list, not both"
            )));
        }
    }
    Ok(ClientNode {
        name: c.name.clone(),
        provider,
        kind,
        retry,
        total_timeout,
    })
}

/// Rejects any cycle through fallback and round-robin edges, naming it,
/// and strategies nested deeper than [`MAX_STRATEGY_DEPTH`]. One pass, with
/// no recursion: configs come from outside, so their depth is unbounded.
fn check_graph(clients: &[ClientNode]) -> Result<(), Error> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn children(node: &ClientNode) -> &[usize] {
        match &node.kind {
            NodeKind::Leaf(_) => &[],
            NodeKind::Fallback(c) | NodeKind::RoundRobin { children: c, .. } => c,
        }
    }
    let mut marks = vec![Mark::New; clients.len()];
    // Strategy levels below each finished node: 0 for a leaf.
    let mut depth = vec![0usize; clients.len()];
    for root in 0..clients.len() {
        if marks[root] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            match children(&clients[node]).get(*next).copied() {
                Some(child) => {
                    *next += 1;
                    match marks[child] {
                        Mark::New => {
                            marks[child] = Mark::OnPath;
                            path.push((child, 0));
                        }
                        Mark::OnPath => {
                            let from = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                            let mut names: Vec<&str> = path[from..]
                                .iter()
                                .map(|(n, _)| clients[*n].name.as_str())
                                .collect();
                            names.push(&clients[child].name);
                            return Err(Error::config(format!(
                                "client {:?}: strategy cycle {}",
                                clients[child].name,
                                describe_cycle(&names)
                            )));
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    let kids = children(&clients[node]);
                    if !kids.is_empty() {
                        depth[node] = 1 + kids.iter().map(|&c| depth[c]).max().unwrap_or(0);
                        if depth[node] > MAX_STRATEGY_DEPTH {
                            return Err(Error::config(format!(
                                "client {:?}: strategies nest more than {MAX_STRATEGY_DEPTH} levels deep",
                                clients[node].name
                            )));
                        }
                    }
                    marks[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

/// `A -> B -> A`, shortened for cycles too long to read.
fn describe_cycle(names: &[&str]) -> String {
    const SHOWN: usize = 6;
    if names.len() <= SHOWN + 1 {
        return names.join(" -> ");
    }
    format!(
        "{} -> ... -> {} ({} clients)",
        names[..SHOWN].join(" -> "),
        names[names.len() - 1],
        names.len() - 1
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `S0 -> S1 -> ... -> S{n-1} -> L`, each a one-child fallback.
    fn chain(n: usize) -> Value {
        let mut clients: Vec<Value> = (0..n)
            .map(|i| {
                let next = if i + 1 == n { "L".to_owned() } else { format!("S{}", i + 1) };
                json!({"name": format!("S{i}"), "provider": "fallback", "options": {"strategy": [next]}})
            })
            .collect();
        clients.push(json!({"name": "L", "provider": "ollama", "options": {"model": "m"}}));
        json!({"primary": "S0", "clients": clients})
    }

    #[test]
    fn strategies_may_nest_up_to_the_limit() {
        assert!(Registry::from_value(&chain(MAX_STRATEGY_DEPTH)).is_ok());
        let e = Registry::from_value(&chain(MAX_STRATEGY_DEPTH + 1)).unwrap_err();
        assert!(
            e.message.contains("nest more than 32 levels"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_very_deep_chain_is_rejected() {
        // 100,000 levels: validation walks the graph once, without recursion
        // (it used to be quadratic, 77 s here; this runs in milliseconds).
        let e = Registry::from_value(&chain(100_000)).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config);
    }

    #[test]
    fn debug_output_never_shows_credentials() {
        let reg = Registry::from_value(&json!({"clients": [
            {"name": "A", "provider": "openai", "options": {
                "model": "m", "api_key": "sk-literal-key",
                "headers": {"x-api-key": "hdr-secret-value", "authorization": "Bearer tok-secret"}}},
            {"name": "B", "provider": "openai-generic", "options": {
                "base_url": "https://user:url-password@h/v1", "query_params": {"key": "query-key-value"}}}
        ]}))
        .unwrap();
        let shown = format!("{reg:?}");
        for secret in [
            "sk-literal-key",
            "hdr-secret-value",
            "tok-secret",
            "url-password",
            "query-key-value",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn framing_headers_are_rejected() {
        for name in ["content-length", "Transfer-Encoding", "host"] {
            let e = Registry::from_value(&json!({"clients": [
                {"name": "A", "provider": "ollama", "options": {"model": "m", "headers": {name: "0"}}}
            ]}))
            .unwrap_err();
            assert!(e.message.contains("may not set"), "{}", e.message);
        }
    }

    #[test]
    fn routing_and_credential_options_never_reach_the_body() {
        let spec = spec::find("azure-openai").unwrap();
        let raw = json!({"resource_name": "r", "deployment_id": "d", "api_version": "v",
                         "api_key": "k", "temperature": 1});
        let o = ClientOptions::parse(spec, "c".into(), raw.as_object().unwrap()).unwrap();
        assert_eq!(Value::Object(o.body), json!({"temperature": 1}));
    }

    #[test]
    fn credential_query_params_are_secrets() {
        let spec = spec::find("openai-generic").unwrap();
        let raw = json!({"base_url": "http://h", "query_params": {"key": "qk-secret-1234", "tier": "gold"}});
        let o = ClientOptions::parse(spec, "c".into(), raw.as_object().unwrap()).unwrap();
        assert_eq!(
            o.secrets.redact("key=qk-secret-1234&tier=gold"),
            "key=[REDACTED]&tier=gold"
        );
    }
}
