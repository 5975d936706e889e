//! A strategy client's `strategy` list, and the order a round-robin visits
//! it. Entries are client names or `%{client: name, weight: n}` maps; a
//! weight spreads a round-robin's turns in proportion (smooth weighted
//! round-robin, as nginx does), a plain name weighs 1.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::value::{shown, type_name};

/// The largest weight one entry may have.
pub const MAX_ROUND_ROBIN_WEIGHT: u64 = 1_000;

/// The largest sum of one round-robin's weights (after dividing them by
/// their greatest common divisor): the order is computed once per registry
/// and kept, one `u32` a turn.
pub const MAX_ROUND_ROBIN_CYCLE: u64 = 100_000;

/// One entry of a `strategy` list.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyEntry {
    pub client: String,
    /// `None` when the entry names no weight (a plain name, or a map
    /// without `weight`).
    pub weight: Option<u64>,
}

impl StrategyEntry {
    pub fn weight(&self) -> u64 {
        self.weight.unwrap_or(1)
    }
}

/// Reads `strategy`; `ctx` names the client. `None` when it is absent.
pub fn entries(
    ctx: &str,
    options: &Map<String, Value>,
) -> Result<Option<Vec<StrategyEntry>>, Error> {
    let items = match options.get("strategy") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(Error::config(format!(
                "{ctx}: option \"strategy\" must be a list of client names or \
                 %{{client: name, weight: n}} maps, got {}",
                type_name(other)
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| entry(ctx, i, item))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn entry(ctx: &str, i: usize, item: &Value) -> Result<StrategyEntry, Error> {
    let map = match item {
        Value::String(name) => {
            return Ok(StrategyEntry {
                client: name.clone(),
                weight: None,
            })
        }
        Value::Object(map) => map,
        other => {
            return Err(Error::config(format!(
                "{ctx}: strategy[{i}] must be a client name or a %{{client: name, weight: n}} map, got {}",
                type_name(other)
            )))
        }
    };
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "client" | "weight"))
    {
        return Err(Error::config(format!(
            "{ctx}: strategy[{i}] has unknown key {} (expected client, weight)",
            shown(k)
        )));
    }
    let client = match map.get("client") {
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(Error::config(format!(
                "{ctx}: strategy[{i}].client must be a client name (string), got {}",
                type_name(other)
            )))
        }
        None => return Err(Error::config(format!("{ctx}: strategy[{i}] has no client"))),
    };
    let weight = match map.get("weight") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|w| (1..=MAX_ROUND_ROBIN_WEIGHT).contains(w))
                .ok_or_else(|| {
                    Error::config(format!(
                        "{ctx}: the weight of {} in strategy[{i}] must be an integer from 1 to \
                         {MAX_ROUND_ROBIN_WEIGHT}, got {}",
                        shown(&client),
                        shown_value(v)
                    ))
                })?,
        ),
    };
    Ok(StrategyEntry { client, weight })
}

/// A number as given; anything else by its type.
fn shown_value(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => type_name(other).to_owned(),
    }
}

/// The order a round-robin visits its entries: one cycle of smooth weighted
/// round-robin, computed once, indexed by the client's shared position (its
/// state's `cursor`, so every caller advances the same sequence without a
/// lock). Entry `e` of weight `w` comes `w` times in every cycle, spread
/// out: weights 3, 2, 1 visit A B A C B A. Equal weights visit the entries
/// in order, as a plain round-robin does.
#[derive(Debug)]
pub struct RoundRobinOrder {
    cycle: Box<[u32]>,
    /// Where turn 0 falls in the cycle: the first turn of the `start` entry.
    offset: usize,
}

impl RoundRobinOrder {
    /// The order for `weights` (one per entry, each at least 1), beginning
    /// with entry `start`. `ctx` names the client in the error for a cycle
    /// longer than [`MAX_ROUND_ROBIN_CYCLE`].
    pub fn new(ctx: &str, weights: &[u64], start: usize) -> Result<Self, Error> {
        // Weights 2:2 visit entries as 1:1 does; dividing keeps the cycle short.
        let divisor = weights.iter().copied().fold(0, gcd).max(1);
        let reduced: Vec<i64> = weights.iter().map(|w| (w / divisor) as i64).collect();
        let total: i64 = reduced.iter().sum();
        if total as u64 > MAX_ROUND_ROBIN_CYCLE {
            return Err(Error::config(format!(
                "{ctx}: the strategy's weights add up to {total} (after dividing by their common \
                 divisor {divisor}); the limit is {MAX_ROUND_ROBIN_CYCLE}"
            )));
        }
        let cycle = smooth_cycle(&reduced, total);
        let offset = cycle.iter().position(|&e| e as usize == start).unwrap_or(0);
        Ok(RoundRobinOrder {
            cycle: cycle.into_boxed_slice(),
            offset,
        })
    }

    /// The entry turn `turn` goes to.
    pub fn entry(&self, turn: usize) -> usize {
        self.cycle[(self.offset + turn % self.cycle.len()) % self.cycle.len()] as usize
    }

    /// Turns in one cycle: the sum of the (divided) weights.
    pub fn cycle_len(&self) -> usize {
        self.cycle.len()
    }
}

/// One cycle of nginx's smooth weighted round-robin: each turn, every
/// entry's current weight grows by its weight, the largest (the first of
/// equal ones) is chosen and loses the total. After `k` turns an entry
/// chosen `c` times stands at `k * w - total * c`, so of the entries with
/// one weight the first least-chosen one leads them: they take turns in
/// index order, and only each distinct weight's next entry competes. That
/// is O(turns x distinct weights) rather than O(turns x entries): at most
/// about 450 distinct weights fit in a cycle of [`MAX_ROUND_ROBIN_CYCLE`].
fn smooth_cycle(weights: &[i64], total: i64) -> Vec<u32> {
    struct Group {
        weight: i64,
        /// Entries of this weight, in index order.
        members: Vec<u32>,
        /// The member whose turn is next; those before it have had one
        /// more turn than those from it on.
        next: usize,
        /// Turns every member has had.
        rounds: i64,
    }
    let mut groups: Vec<Group> = Vec::new();
    for (i, &weight) in weights.iter().enumerate() {
        match groups.iter_mut().find(|g| g.weight == weight) {
            Some(g) => g.members.push(i as u32),
            None => groups.push(Group {
                weight,
                members: vec![i as u32],
                next: 0,
                rounds: 0,
            }),
        }
    }
    let mut cycle = Vec::with_capacity(total as usize);
    for k in 1..=total {
        let lead = |g: &Group| (k * g.weight - total * g.rounds, g.members[g.next]);
        let mut best = 0;
        for (i, g) in groups.iter().enumerate().skip(1) {
            let (current, entry) = lead(g);
            let (best_current, best_entry) = lead(&groups[best]);
            if current > best_current || (current == best_current && entry < best_entry) {
                best = i;
            }
        }
        let g = &mut groups[best];
        cycle.push(g.members[g.next]);
        g.next += 1;
        if g.next == g.members.len() {
            g.next = 0;
            g.rounds += 1;
        }
    }
    cycle
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order(weights: &[u64], start: usize, turns: usize) -> String {
        let o = RoundRobinOrder::new("c", weights, start).unwrap();
        (0..turns)
            .map(|t| (b'A' + o.entry(t) as u8) as char)
            .collect()
    }

    /// nginx's loop as it is written: every entry, every turn.
    fn nginx_cycle(weights: &[i64]) -> Vec<u32> {
        let total: i64 = weights.iter().sum();
        let mut current = vec![0i64; weights.len()];
        (0..total)
            .map(|_| {
                let mut best = 0;
                for (i, w) in weights.iter().enumerate() {
                    current[i] += w;
                    if current[i] > current[best] {
                        best = i;
                    }
                }
                current[best] -= total;
                best as u32
            })
            .collect()
    }

    #[test]
    fn the_grouped_cycle_is_nginx_s() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..2000 {
            let len = 1 + next(12) as usize;
            let weights: Vec<i64> = (0..len).map(|_| 1 + next(9) as i64).collect();
            let total = weights.iter().sum();
            assert_eq!(
                smooth_cycle(&weights, total),
                nginx_cycle(&weights),
                "{weights:?}"
            );
        }
    }

    #[test]
    fn the_longest_cycles_build() {
        // 100,000 entries of one weight (a single group), and about the
        // most distinct weights that fit in a cycle.
        let ones: Vec<u64> = (0..100_000).map(|_| 1).collect();
        let o = RoundRobinOrder::new("c", &ones, 0).unwrap();
        assert_eq!(o.entry(99_999), 99_999);
        let many: Vec<u64> = (1..=440).collect();
        let o = RoundRobinOrder::new("c", &many, 0).unwrap();
        assert_eq!(o.cycle_len(), 440 * 441 / 2);
    }

    #[test]
    fn equal_weights_go_in_order_from_start() {
        assert_eq!(order(&[1, 1, 1], 0, 7), "ABCABCA");
        assert_eq!(order(&[1, 1, 1], 1, 4), "BCAB");
        assert_eq!(order(&[4, 4], 1, 4), "BABA");
    }

    #[test]
    fn weights_interleave_as_nginx_does() {
        // nginx's documented example order for 5, 1, 1.
        assert_eq!(order(&[5, 1, 1], 0, 7), "AABACAA");
        assert_eq!(order(&[3, 2, 1], 0, 12), "ABACBAABACBA");
        // start: the cycle from the start entry's first turn.
        assert_eq!(order(&[3, 2, 1], 2, 6), "CBAABA");
    }

    #[test]
    fn every_cycle_holds_each_weight_and_no_entry_runs_longer_than_its_weight() {
        let sets: &[&[u64]] = &[
            &[3, 2, 1],
            &[5, 1, 1],
            &[10, 1],
            &[1000, 1],
            &[7, 7, 3],
            &[2, 3, 5, 7, 11],
            &[1, 999, 1, 1],
        ];
        for weights in sets {
            let o = RoundRobinOrder::new("c", weights, 0).unwrap();
            let turns = o.cycle_len() * 3;
            let seq: Vec<usize> = (0..turns).map(|t| o.entry(t)).collect();
            for (e, w) in weights.iter().enumerate() {
                let count = seq[..o.cycle_len()].iter().filter(|&&x| x == e).count();
                assert_eq!(count as u64, *w, "{weights:?} entry {e}");
            }
            let mut run = 1;
            for pair in seq.windows(2) {
                run = if pair[0] == pair[1] { run + 1 } else { 1 };
                assert!(
                    run as u64 <= weights[pair[1]],
                    "{weights:?}: entry {} ran {run} times",
                    pair[1]
                );
            }
        }
    }

    #[test]
    fn entries_are_names_or_weighted_maps() {
        let opts = json!({"strategy": ["A", {"client": "B", "weight": 3}, {"client": "C"}]});
        let got = entries("c", opts.as_object().unwrap()).unwrap().unwrap();
        assert_eq!(
            got.iter()
                .map(|e| (e.client.as_str(), e.weight()))
                .collect::<Vec<_>>(),
            [("A", 1), ("B", 3), ("C", 1)]
        );
    }

    #[test]
    fn bad_entries_are_config_errors_naming_the_client() {
        for (strategy, expected) in [
            (
                json!([{"client": "B", "weight": 0}]),
                "the weight of \"B\" in strategy[0] must be an integer from 1 to 1000, got 0",
            ),
            (json!([{"client": "B", "weight": -2}]), "got -2"),
            (json!([{"client": "B", "weight": 1.5}]), "got 1.5"),
            (json!([{"client": "B", "weight": "3"}]), "got a string"),
            (json!([{"client": "B", "weight": 1001}]), "got 1001"),
            (json!(["A", {"weight": 2}]), "strategy[1] has no client"),
            (
                json!([{"client": 3}]),
                "strategy[0].client must be a client name",
            ),
            (
                json!([{"client": "B", "weihgt": 2}]),
                "unknown key \"weihgt\"",
            ),
            (json!([7]), "strategy[0] must be a client name"),
        ] {
            let opts = json!({ "strategy": strategy });
            let e = entries("client \"R\"", opts.as_object().unwrap()).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(e.message.starts_with("client \"R\": "), "{}", e.message);
            assert!(e.message.contains(expected), "{}", e.message);
        }
    }

    #[test]
    fn a_cycle_past_the_limit_is_refused() {
        let mut weights = vec![1000; 101];
        weights[0] = 999;
        let e = RoundRobinOrder::new("client \"R\"", &weights, 0).unwrap_err();
        assert!(e.message.contains("add up to 100999"), "{}", e.message);
        // Divided by their common divisor, large equal weights are short.
        assert_eq!(
            RoundRobinOrder::new("c", &[1000; 101], 0)
                .unwrap()
                .cycle_len(),
            101
        );
        assert_eq!(
            RoundRobinOrder::new("c", &[1000, 500], 0)
                .unwrap()
                .cycle_len(),
            3
        );
    }
}
