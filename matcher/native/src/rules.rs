//! Compiled event conditions and their evaluation on one scanned article.
//!
//! `evaluate` returns None when a condition is false, else the hits that made it true (empty for a block true
//! without evidence, such as a lone `none`). The semantics are those of docs/rules.md; the evidence list keeps
//! duplicates because `min_hits` counts them.

use crate::terms::Hit;

/// Everything evaluation asks of an article: the hits of a term, the mentions of an actor, word positions.
pub trait Found {
    fn hits(&self, tid: u32) -> &[Hit];
    fn mentions(&self, actor: u32) -> &[Hit];
    fn word_span(&self, hit: &Hit) -> (i64, i64);

    /// Words between two hits (1 = adjacent), or None when they are in different fields or overlap.
    fn gap(&self, a: &Hit, b: &Hit) -> Option<i64> {
        if a.field != b.field || (a.start < b.end && b.start < a.end) {
            return None;
        }
        let (a0, a1) = self.word_span(a);
        let (b0, b1) = self.word_span(b);
        Some((b0 - a1).max(a0 - b1))
    }
}

pub enum Item {
    Group(Vec<u32>),
    Node(Box<Node>),
}

pub enum Side {
    Group(Vec<u32>),
    Actors(Vec<u32>),
}

pub struct Actors {
    pub indices: Vec<u32>,
    pub within: Option<i64>,
}

pub struct Node {
    pub fields: u8, // bit i: field i
    pub any: Option<Vec<Item>>,
    pub all: Option<Vec<Item>>,
    pub none: Option<Vec<Item>>,
    pub near: Option<(Side, Side)>,
    pub within: i64,
    pub min_hits: usize,
    pub actor: Option<Actors>,
}

#[inline]
fn in_fields(fields: u8, hit: &Hit) -> bool {
    fields & (1 << hit.field) != 0
}

fn group(tids: &[u32], found: &impl Found, fields: u8, out: &mut Vec<Hit>) {
    for &tid in tids {
        out.extend(found.hits(tid).iter().filter(|h| in_fields(fields, h)));
    }
}

fn actor_mentions(indices: &[u32], found: &impl Found, fields: u8) -> Vec<Hit> {
    let mut out = Vec::new();
    for &a in indices {
        out.extend(found.mentions(a).iter().filter(|h| in_fields(fields, h)));
    }
    out
}

/// The item's evidence appended to `out`; false when the item does not hold.
fn item(item: &Item, found: &impl Found, fields: u8, out: &mut Vec<Hit>) -> bool {
    match item {
        Item::Node(node) => match evaluate(node, found) {
            Some(hits) => {
                out.extend(hits);
                true
            }
            None => false,
        },
        Item::Group(tids) => {
            let before = out.len();
            group(tids, found, fields, out);
            out.len() > before
        }
    }
}

fn holds(it: &Item, found: &impl Found, fields: u8) -> bool {
    match it {
        Item::Node(node) => evaluate(node, found).is_some(),
        Item::Group(tids) => tids
            .iter()
            .any(|&t| found.hits(t).iter().any(|h| in_fields(fields, h))),
    }
}

fn side(side: &Side, found: &impl Found, fields: u8) -> Vec<Hit> {
    match side {
        Side::Actors(indices) => actor_mentions(indices, found, fields),
        Side::Group(tids) => {
            let mut out = Vec::new();
            group(tids, found, fields, &mut out);
            out
        }
    }
}

fn near(node: &Node, found: &impl Found) -> Option<Vec<Hit>> {
    let (a, b) = node.near.as_ref()?;
    let left = side(a, found, node.fields);
    if left.is_empty() {
        return None;
    }
    let right = side(b, found, node.fields);
    let mut pairs = Vec::new();
    for x in &left {
        for y in &right {
            if found.gap(x, y).is_some_and(|g| g <= node.within) {
                pairs.push(*x);
                pairs.push(*y);
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    if pairs.is_empty() {
        None
    } else {
        Some(pairs)
    }
}

/// The evidence that `node` holds, or None when it does not.
pub fn evaluate(node: &Node, found: &impl Found) -> Option<Vec<Hit>> {
    let mut evidence = Vec::new();
    if let Some(items) = &node.any {
        let mut any = false;
        for it in items {
            any |= item(it, found, node.fields, &mut evidence);
        }
        if !any || evidence.len() < node.min_hits {
            return None;
        }
    }
    if let Some(items) = &node.all {
        for it in items {
            if !item(it, found, node.fields, &mut evidence) {
                return None;
            }
        }
    }
    if node.near.is_some() {
        evidence.extend(near(node, found)?);
    }
    if let Some(items) = &node.none {
        if items.iter().any(|it| holds(it, found, node.fields)) {
            return None;
        }
    }
    if let Some(actors) = &node.actor {
        let mentions = actor_mentions(&actors.indices, found, node.fields);
        let ok = match actors.within {
            None => !mentions.is_empty(),
            Some(within) => mentions.iter().any(|m| {
                evidence
                    .iter()
                    .any(|e| found.gap(m, e).is_some_and(|g| g <= within))
            }),
        };
        if !ok {
            return None;
        }
    }
    Some(evidence)
}

/// Whether some mention is at most `within` words from an evidence span of the same field (not the same span).
pub fn is_near(
    mentions: &[Hit],
    spans: &[(u8, i64, i64)],
    found: &impl Found,
    within: i64,
) -> bool {
    mentions.iter().any(|m| {
        let (start, end) = found.word_span(m);
        spans.iter().any(|&(field, other_start, other_end)| {
            field == m.field
                && (other_start - end).max(start - other_end) <= within
                && (other_start, other_end) != (start, end)
        })
    })
}
