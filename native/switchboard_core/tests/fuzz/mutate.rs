//! Mutations of a seed: what a broken server, a proxy or a hostile peer
//! does to bytes.

use proptest::prelude::*;

/// Bytes the formats give meaning to: line ends, field and JSON syntax,
/// UTF-8 lead and continuation bytes, NUL, DEL.
const SPECIAL: &[u8] = b"\n\r:{}[]\",\\0 \x00\x7f\x80\xbf\xc3\xe2\xf0\xff";

#[derive(Clone, Debug)]
pub enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    Set {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Repeat {
        at: usize,
        len: usize,
    },
    Truncate {
        at: usize,
    },
    /// The tail of another seed from `at` on.
    Splice {
        at: usize,
        other: usize,
        from: usize,
    },
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![any::<u8>(), prop::sample::select(SPECIAL.to_vec())]
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        3 => (at, 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        3 => (at, byte()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        2 => (at, prop::collection::vec(byte(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        2 => (at, 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (at, 1usize..256).prop_map(|(at, len)| Mutation::Repeat { at, len }),
        1 => at.prop_map(|at| Mutation::Truncate { at }),
        1 => (at, any::<usize>(), any::<usize>())
            .prop_map(|(at, other, from)| Mutation::Splice { at, other, from }),
    ]
}

/// One to eight mutations.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..8)
}

/// `seed` with `mutations` applied in order; `seeds` feed the splices.
pub fn apply(seed: &[u8], mutations: &[Mutation], seeds: &[&[u8]]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in mutations {
        let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % len };
        match m {
            Mutation::FlipBit { at, bit } if !b.is_empty() => {
                let i = pos(*at, b.len());
                b[i] ^= 1 << bit;
            }
            Mutation::Set { at, byte } if !b.is_empty() => {
                let i = pos(*at, b.len());
                b[i] = *byte;
            }
            Mutation::Insert { at, bytes } => {
                let i = pos(*at, b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete { at, len } if !b.is_empty() => {
                let i = pos(*at, b.len());
                let end = (i + len).min(b.len());
                b.drain(i..end);
            }
            Mutation::Repeat { at, len } if !b.is_empty() => {
                let i = pos(*at, b.len());
                let end = (i + len).min(b.len());
                let copy = b[i..end].to_vec();
                b.splice(end..end, copy);
            }
            Mutation::Truncate { at } => {
                let i = pos(*at, b.len() + 1);
                b.truncate(i);
            }
            Mutation::Splice { at, other, from } if !seeds.is_empty() => {
                let other = seeds[other % seeds.len()];
                let i = pos(*at, b.len() + 1);
                let j = pos(*from, other.len() + 1);
                b.truncate(i);
                b.extend_from_slice(&other[j..]);
            }
            _ => {}
        }
    }
    b
}
