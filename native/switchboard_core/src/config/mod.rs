//! The client registry: parsed and validated once, then shared read-only by
//! every call. What changes at run time (round-robin positions, credential
//! caches) lives in its [`ClientStore`], which the registries rebuilt or
//! reloaded from it inherit.

pub mod bounds;
pub mod breaker;
mod health;
pub mod http;
pub mod limits;
mod provider_names;
mod shorthand;
mod source;
mod state;
pub mod strategy;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value};

pub use breaker::BreakerSettings;
pub use health::{Circuit, ClientHealth};
pub use http::{HttpSettings, LEAF_HTTP_OPTIONS};
pub use limits::LeafLimits;
pub use shorthand::SHORTHAND_CACHE_LIMIT;
pub use source::{ClientSource, RegistrySource};
pub use state::{ClientState, ClientStore};
pub use strategy::{RoundRobinOrder, StrategyEntry};

use crate::error::Error;
use crate::pricing::Pricing;
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
    pub transport: OnceLock<crate::engine::transport::Transport>,
    pub http: HttpSettings,
    pub finish_reason_allow_list: Option<Vec<String>>,
    pub finish_reason_deny_list: Option<Vec<String>>,
    /// `supports_streaming: false` makes a stream call send one plain
    /// request and deliver the answer as a single chunk; BAML's default is
    /// false for OpenAI's `o1` models only.
    pub supports_streaming: bool,
    /// The client's generation parameters, typed and checked against its
    /// dialect at build time; a call's own are checked per attempt.
    pub generation: crate::generation::GenerationParams,
    /// `pricing`: what its tokens cost; `None`: attempts carry no cost.
    pub pricing: Option<Pricing>,
    /// Its own `circuit_breaker`, or the registry's; `None`: off.
    pub breaker: Option<BreakerSettings>,
    /// `max_in_flight`, `requests_per_minute`, `tokens_per_minute`.
    pub limits: LeafLimits,
    /// `allowed_roles`, `default_role`, `remap_roles` and
    /// `allowed_role_metadata`, applied to each call's prompt.
    pub roles: crate::roles::RoleSelection,
    /// `media_url_handler` over the provider's defaults: what the call's
    /// media URLs become before the request is built.
    pub media: crate::media::MediaHandler,
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
            .field("pricing", &self.pricing)
            .field("breaker", &self.breaker)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

// Nodes are built once per registry, kept in its `Vec` and only borrowed
// by calls: the leaf's size costs one allocation per client, not per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum NodeKind {
    Leaf(Leaf),
    Fallback(Vec<usize>),
    /// Its position is the client state's `cursor`; `order` maps it to
    /// an index of `children` (weights and `start` applied).
    RoundRobin {
        children: Vec<usize>,
        order: RoundRobinOrder,
    },
}

#[derive(Debug)]
pub struct ClientNode {
    pub name: String,
    pub provider: &'static str,
    pub kind: NodeKind,
    pub retry: Option<Arc<RetryPolicy>>,
    pub total_timeout: Option<Duration>,
    /// Shared with the same client in the registries built before and
    /// after this one, while its config is unchanged.
    pub state: Arc<ClientState>,
}

#[derive(Debug)]
pub struct Registry {
    pub clients: Vec<ClientNode>,
    by_name: HashMap<String, usize>,
    pub primary: Option<usize>,
    source: RegistrySource,
    store: Arc<ClientStore>,
    shorthands: shorthand::Shorthands,
}

impl Registry {
    /// Parses and validates a `client_registry` map.
    pub fn from_value(config: &Value) -> Result<Registry, Error> {
        Registry::build(RegistrySource::parse(config)?)
    }

    /// A new registry from a whole `client_registry` map, validated as
    /// [`Registry::from_value`] does, that keeps this one's client states
    /// and credential caches.
    pub fn reload(&self, config: &Value) -> Result<Registry, Error> {
        self.rebuild(RegistrySource::parse(config)?)
    }

    /// A new registry from an edited source that keeps this one's client
    /// states and credential caches.
    pub fn rebuild(&self, source: RegistrySource) -> Result<Registry, Error> {
        Registry::build_in(source, self.store.clone())
    }

    /// The client states and credential caches this registry shares.
    pub fn store(&self) -> &ClientStore {
        &self.store
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

    /// The leaf for a `provider/model` name that the registry does not
    /// define, built on its first call and kept (up to
    /// [`SHORTHAND_CACHE_LIMIT`] of them).
    pub fn shorthand(&self, name: &str) -> Result<Arc<ClientNode>, Error> {
        if let Some(node) = self.shorthands.get(name) {
            return Ok(node);
        }
        let source = shorthand::source(name)?;
        let node = build_node(&source, &self.by_name, &self.source, &self.store)?;
        Ok(self.shorthands.keep(node))
    }

    /// How many shorthand clients the registry keeps.
    pub fn shorthands_kept(&self) -> usize {
        self.shorthands.len()
    }

    /// Builds a registry with a store of its own.
    pub fn build(source: RegistrySource) -> Result<Registry, Error> {
        Registry::build_in(source, Arc::default())
    }

    fn build_in(mut source: RegistrySource, store: Arc<ClientStore>) -> Result<Registry, Error> {
        // Shorthand `provider/model` references become ordinary clients.
        let mut referenced: Vec<String> = source.primary.iter().cloned().collect();
        for c in &source.clients {
            referenced.extend(strategy_of(c)?.into_iter().flatten().map(|e| e.client));
        }
        let mut defined: HashSet<String> = source.clients.iter().map(|c| c.name.clone()).collect();
        for name in referenced {
            if name.contains('/') && !defined.contains(&name) {
                source.clients.push(shorthand::source(&name)?);
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
            .map(|c| build_node(c, &by_name, &source, &store))
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
            store,
            shorthands: Default::default(),
        })
    }
}

fn ctx(c: &ClientSource) -> String {
    format!("client {:?}", c.name)
}

/// The `strategy` list of a fallback / round-robin client, None for leaves.
fn strategy_of(c: &ClientSource) -> Result<Option<Vec<StrategyEntry>>, Error> {
    match spec::find(&c.provider) {
        Some(s) if s.is_strategy() => {
            let ctx = ctx(c);
            let list = strategy::entries(&ctx, &c.options)?.ok_or_else(|| {
                Error::config(format!("{ctx}: missing required option \"strategy\""))
            })?;
            if list.is_empty() {
                return Err(Error::config(format!(
                    "{ctx}: option \"strategy\" is empty"
                )));
            }
            if matches!(s.kind, SpecKind::Fallback) {
                if let Some(e) = list.iter().find(|e| e.weight.is_some()) {
                    return Err(Error::config(format!(
                        "{ctx}: strategy entry {} has a weight, which only a round-robin \
                         uses; a fallback tries its clients in order",
                        shown(&e.client)
                    )));
                }
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
    store: &ClientStore,
) -> Result<ClientNode, Error> {
    let ctx = ctx(c);
    let spec: &'static ProviderSpec = spec::find(&c.provider).ok_or_else(|| {
        Error::config(format!(
            "{ctx}: {}",
            provider_names::unknown_provider(&c.provider)
        ))
    })?;
    let provider = spec.name;
    let retry = match &c.retry_policy {
        None => None,
        Some(name) => Some(source.retry_policy(name).ok_or_else(|| {
            Error::config(format!("{ctx}: unknown retry_policy {}", shown(name)))
        })?),
    };
    let opts = Options::new(&ctx, &c.options);
    // A strategy's state depends on its children and start only.
    let mut state_config = Map::new();
    let kind = match strategy_of(c)? {
        Some(entries) => {
            let children = entries
                .iter()
                .map(|e| {
                    by_name.get(&e.client).copied().ok_or_else(|| {
                        Error::config(format!(
                            "{ctx}: strategy names unknown client {}",
                            shown(&e.client)
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let weights: Vec<u64> = entries.iter().map(StrategyEntry::weight).collect();
            let names: Vec<String> = entries.into_iter().map(|e| e.client).collect();
            state_config.insert("strategy".into(), names.into());
            // New weights are a new order: the position starts over.
            if weights.iter().any(|&w| w != 1) {
                state_config.insert("weights".into(), weights.clone().into());
            }
            if let Some(k) = c.options.keys().find(|k| is_leaf_only(k)) {
                return Err(Error::config(format!(
                    "{ctx}: option {k:?} belongs on leaf clients: each of a strategy's clients has its own"
                )));
            }
            if matches!(spec.kind, SpecKind::Fallback) {
                opts.reject_unknown(FALLBACK_OPTIONS)?;
                NodeKind::Fallback(children)
            } else {
                opts.reject_unknown(ROUND_ROBIN_OPTIONS)?;
                let start = opts.u64("start")?.unwrap_or(0) as usize;
                if start >= children.len() {
                    return Err(Error::config(format!(
                        "{ctx}: option \"start\" must be below the strategy's length {}",
                        children.len()
                    )));
                }
                state_config.insert("start".into(), start.into());
                NodeKind::RoundRobin {
                    children,
                    order: RoundRobinOrder::new(&ctx, &weights, start)?,
                }
            }
        }
        None => {
            state_config.clone_from(&c.options);
            let breaker = match c.options.get("circuit_breaker") {
                Some(v) if !v.is_null() => BreakerSettings::parse(&ctx, v)?,
                _ => {
                    // The registry's default is part of this client's
                    // config: a new default starts a new breaker.
                    if let Some(b) = &source.circuit_breaker {
                        state_config.insert("circuit_breaker".into(), breaker::key(b));
                    }
                    source.circuit_breaker
                }
            };
            let options = ClientOptions {
                credentials: store.credentials.clone(),
                ..ClientOptions::parse(spec, ctx.clone(), &c.options)?
            };
            let provider = providers::build(&options)?;
            // A client's own values out of its own model's dialect's range
            // fail the registry, as any other invalid option does.
            provider
                .default_reader()
                .limits()
                .check(&options.generation, &|| ctx.clone())
                .map_err(|e| Error::config(e.message))?;
            NodeKind::Leaf(Leaf {
                http: HttpSettings::parse(&ctx, opts.map("http")?)?,
                finish_reason_allow_list: opts.string_list("finish_reason_allow_list")?,
                finish_reason_deny_list: opts.string_list("finish_reason_deny_list")?,
                supports_streaming: match opts.bool("supports_streaming")? {
                    Some(given) => given,
                    None => crate::roles::streams_by_default(spec.name, opts.str("model")?),
                },
                provider,
                generation: options.generation.clone(),
                transport: OnceLock::new(),
                pricing: match c.options.get("pricing") {
                    Some(v) if !v.is_null() => Some(Pricing::parse(&ctx, v)?),
                    _ => None,
                },
                breaker,
                limits: LeafLimits::parse(&opts, &ctx)?,
                roles: crate::roles::RoleSelection::parse(&ctx, spec.name, &c.options)?,
                media: crate::media::MediaHandler::parse(&ctx, spec.media_defaults, &c.options)?,
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
    let state = store.state(state::StateKey {
        name: c.name.clone(),
        provider,
        config: state_config,
    });
    Ok(ClientNode {
        name: c.name.clone(),
        provider,
        kind,
        retry,
        total_timeout,
        state,
    })
}

/// A fallback client's options.
pub const FALLBACK_OPTIONS: &[&str] = &["strategy", "http"];
/// A round-robin client's options.
pub const ROUND_ROBIN_OPTIONS: &[&str] = &["strategy", "start", "http"];

/// Options of a leaf's own breaker and limits.
fn is_leaf_only(key: &str) -> bool {
    key == "circuit_breaker" || limits::LIMIT_OPTIONS.contains(&key)
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

    fn state(reg: &Registry, name: &str) -> Arc<ClientState> {
        reg.clients[reg.index(name).expect("client")].state.clone()
    }

    #[test]
    fn client_states_outlive_a_rebuild_while_their_config_is_unchanged() {
        let leaf = |name: &str, model: &str| json!({"name": name, "provider": "ollama", "options": {"model": model}});
        let rr = |start: u64| {
            json!({"name": "R", "provider": "round-robin",
                   "options": {"strategy": ["A", "B"], "start": start}})
        };
        let reg =
            Registry::from_value(&json!({"clients": [leaf("A", "m"), leaf("B", "m"), rr(0)]}))
                .unwrap();
        let mut source = reg.source().clone();
        source
            .add_client("C", "ollama", &json!({"model": "m"}), None)
            .unwrap();
        source.primary = Some("C".into());
        let edited = reg.rebuild(source).unwrap();
        for name in ["A", "B", "R"] {
            assert!(
                Arc::ptr_eq(&state(&reg, name), &state(&edited, name)),
                "{name}"
            );
        }

        // A whole new config: A's model changed, B did not, and R only in
        // its timeout and retry policy, which are not part of its state's key.
        let reloaded = edited
            .reload(&json!({"clients": [leaf("A", "other"), leaf("B", "m"),
                {"name": "R", "provider": "round-robin", "retry_policy": "DefaultRetry",
                 "options": {"strategy": ["A", "B"], "start": 0, "http": {"total_timeout_ms": 5}}},
                {"name": "R2", "provider": "round-robin", "options": {"strategy": ["A", "B"], "start": 1}}]}))
            .unwrap();
        assert!(Arc::ptr_eq(&state(&edited, "B"), &state(&reloaded, "B")));
        assert!(Arc::ptr_eq(&state(&edited, "R"), &state(&reloaded, "R")));
        assert!(!Arc::ptr_eq(&state(&edited, "A"), &state(&reloaded, "A")));
        // R's start is.
        let moved = reloaded.reload(&json!({"clients": [leaf("A", "m"), leaf("B", "m"), rr(1)]}));
        assert!(!Arc::ptr_eq(
            &state(&reloaded, "R"),
            &state(&moved.unwrap(), "R")
        ));

        // A state no registry uses is freed; the others stay.
        let old_a = Arc::downgrade(&state(&reg, "A"));
        let c = Arc::downgrade(&state(&edited, "C"));
        drop((reg, edited));
        assert!(old_a.upgrade().is_none() && c.upgrade().is_none());
        // A (new), B, R, R2.
        assert_eq!(reloaded.store().live_states(), 4);
    }

    #[test]
    fn shorthand_clients_are_kept_up_to_a_bound_and_share_credentials() {
        let reg = Registry::from_value(&json!({"clients": [
            {"name": "A", "provider": "ollama", "options": {"model": "m"}}]}))
        .unwrap();
        let first = reg.shorthand("aws-bedrock/model-1").unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &reg.shorthand("aws-bedrock/model-1").unwrap()
        ));
        let caches = &reg.store().credentials;
        let chain = caches.aws_default_chain.get().expect("the default chain");
        // Two Bedrock models on the default chain: one credential cache.
        reg.shorthand("aws-bedrock/model-2").unwrap();
        assert_eq!(Arc::strong_count(chain), 3);

        for i in 0..SHORTHAND_CACHE_LIMIT {
            reg.shorthand(&format!("ollama/m{i}")).unwrap();
        }
        assert_eq!(reg.shorthands_kept(), SHORTHAND_CACHE_LIMIT);
        // Past the bound: built per call, with the same state while in use.
        let a = reg.shorthand("ollama/late").unwrap();
        let b = reg.shorthand("ollama/late").unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&a.state, &b.state));
        assert_eq!(reg.shorthands_kept(), SHORTHAND_CACHE_LIMIT);
        assert!(reg.shorthand("nope/m").is_err());
        // Even with no other client on it, the default chain stays.
        drop(reg.shorthand("aws-bedrock/late").unwrap());
        assert_eq!(Arc::strong_count(chain), 3);
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
