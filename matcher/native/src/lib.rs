//! newswatch's hot paths. The matcher: one call per article finds every term, every actor mention, the candidate rules
//! (presearch) and evaluates their conditions, returning only what the matched rules need.
//!
//! matcher/compile.py builds the spec (terms, condition trees, presearch index) in Python; matcher/engine.py turns
//! the few results into `Hit` / `EventMatch` objects. Offsets are Python code point offsets into each field.

mod index;
mod rules;
mod simhash;
mod spec;
mod tables;
mod terms;
mod text;
mod trie;

use std::collections::BTreeMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

use index::Index;
use rules::{evaluate, is_near, Found, Node};
use spec::{node, PhraseSpec};
use terms::{key_hit, Hit, Phrase};
use text::Field;
use trie::Trie;

/// A hit as Python sees it: (field index, start, end, term id).
type RawHit = (u8, u32, u32, u32);
/// A matched rule: its index, its evidence (indices into the analysis' hits, in field and offset order), and for
/// each actor of the article's actor list whether it is near that evidence.
type Matched = (u32, Vec<u32>, Vec<bool>);
/// An evidence hit as reported: field index, start, end, term id, the text found, the snippet around it.
type Evidence = (u8, u32, u32, u32, String, String);
/// Matched rules, the article's actors (index, mentions) by mentions then index, the matched rules' hits.
type Analysis = (Vec<Matched>, Vec<(u32, usize)>, Vec<Evidence>);

/// A trie value is a phrase index, or for a simple phrase (most of them) its term id with these flags, so that
/// finding it needs no look at the phrase record: at 10,000 rules those records (64 bytes each, 3 MB) missed the
/// cache on nearly every hit, the term ids in the trie's values do not.
const SIMPLE: u32 = 1 << 31;
const KEY_STEM: u32 = 1 << 30;
const TID_LIMIT: u32 = 1 << 30;
const ACTOR_NEAR: i64 = 20; // words: an actor this close to an event's evidence is "near" the event
const SNIPPET: u32 = 60; // characters either side of a hit: enough to read the sentence around it

fn raw(h: &Hit) -> RawHit {
    (h.field, h.start, h.end, h.tid)
}

/// The terms and actor mentions found in one article.
struct Scan<'a> {
    fields: Vec<Field<'a>>,
    /// every hit, grouped by term id (in scan order within a term)
    hits: Vec<Hit>,
    /// term id -> its range in `hits`, sorted by term id
    ranges: Vec<(u32, usize, usize)>,
    /// actor index -> its mentions (sorted, without excluded and nested ones)
    mentions: BTreeMap<u32, Vec<Hit>>,
}

impl Found for Scan<'_> {
    fn hits(&self, tid: u32) -> &[Hit] {
        match self.ranges.binary_search_by_key(&tid, |r| r.0) {
            Ok(i) => &self.hits[self.ranges[i].1..self.ranges[i].2],
            Err(_) => &[],
        }
    }

    fn mentions(&self, actor: u32) -> &[Hit] {
        self.mentions.get(&actor).map_or(&[], Vec::as_slice)
    }

    fn word_span(&self, hit: &Hit) -> (i64, i64) {
        match self.fields.iter().find(|f| f.index == hit.field) {
            Some(field) => field.word_span(hit.start, hit.end),
            None => (-1, -1),
        }
    }
}

#[pyclass(frozen, module = "newswatch_scan")]
struct Engine {
    /// automaton key -> indices into `phrases`
    trie: Trie,
    phrases: Vec<Phrase>,
    /// term id -> actors it names / actors whose mention it excludes
    actor_terms: Index,
    exclude_terms: Index,
    rules: Vec<Node>,
    /// presearch: term / actor -> (event << 1 | which of its key sets); per event its number of key sets
    rules_of_term: Index,
    rules_of_actor: Index,
    needs: Vec<u8>,
    always: Vec<u32>,
}

#[pymethods]
impl Engine {
    /// Build the trie and the condition trees. Pairs are (term id, actor) / (term id or actor, rule << 1 | set).
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        terms: usize,
        actors: usize,
        phrases: Vec<PhraseSpec>,
        actor_terms: Vec<(u32, u32)>,
        exclude_terms: Vec<(u32, u32)>,
        rules: Vec<Bound<'_, PyAny>>,
        rules_of_term: Vec<(u32, u32)>,
        rules_of_actor: Vec<(u32, u32)>,
        needs: Vec<u8>,
    ) -> PyResult<Self> {
        let mut key_index: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let mut key_list: Vec<Vec<u8>> = Vec::new();
        let mut keys: Vec<Vec<u32>> = Vec::new();
        let mut compiled = Vec::with_capacity(phrases.len());
        for (i, (tid, words, exact, exact_open)) in phrases.into_iter().enumerate() {
            if words.is_empty() {
                return Err(PyValueError::new_err(format!("term {tid} has no words")));
            }
            let words = words
                .into_iter()
                .map(|(w, stem)| (w.into_bytes(), stem))
                .collect();
            let phrase = Phrase::new(tid, words, exact, exact_open);
            let key = phrase.key();
            let k = *key_index.entry(key.clone()).or_insert_with(|| {
                key_list.push(key);
                keys.push(Vec::new());
                keys.len() - 1
            });
            keys[k].push(match phrase.simple() {
                Some(stem) if tid < TID_LIMIT => SIMPLE | (stem as u32) << 30 | tid,
                _ => i as u32,
            });
            compiled.push(phrase);
        }
        // the trie starts at a word's first letter: keys lose their leading space
        let keys: Vec<(Vec<u8>, Vec<u32>)> = key_list
            .into_iter()
            .map(|k| k[1..].to_vec())
            .zip(keys)
            .collect();
        Ok(Engine {
            trie: Trie::new(&keys).map_err(PyValueError::new_err)?,
            phrases: compiled,
            actor_terms: Index::new(actor_terms, terms),
            exclude_terms: Index::new(exclude_terms, terms),
            rules: rules.iter().map(node).collect::<PyResult<_>>()?,
            rules_of_term: Index::new(rules_of_term, terms),
            rules_of_actor: Index::new(rules_of_actor, actors),
            always: (0..needs.len() as u32)
                .filter(|&r| needs[r as usize] == 0)
                .collect(),
            needs,
        })
    }

    /// Every matching rule with its evidence and the actors near it, the article's actors, and the evidence
    /// hits with their text and snippet. `fields`: (field index, text); `regex_hits`: the RE2 terms'.
    fn analyze(&self, fields: Vec<(u8, PyBackedStr)>, regex_hits: Vec<RawHit>) -> Analysis {
        let scan = self.scan_fields(&fields, &regex_hits);
        let candidates = self.candidates(&scan);
        let mut actors: Vec<(u32, usize)> =
            scan.mentions.iter().map(|(&a, m)| (a, m.len())).collect();
        actors.sort_by_key(|&(a, count)| (std::cmp::Reverse(count), a));
        let mut events = Vec::new();
        let mut hits: BTreeMap<Hit, u32> = BTreeMap::new(); // events often share evidence
        for r in candidates {
            let Some(mut evidence) = self.rules.get(r as usize).and_then(|n| evaluate(n, &scan))
            else {
                continue;
            };
            evidence.sort_unstable();
            evidence.dedup();
            let spans: Vec<(u8, i64, i64)> = evidence
                .iter()
                .map(|h| {
                    let (s, e) = scan.word_span(h);
                    (h.field, s, e)
                })
                .collect();
            let near = actors
                .iter()
                .map(|&(a, _)| is_near(scan.mentions(a), &spans, &scan, ACTOR_NEAR))
                .collect();
            let mut indices = Vec::with_capacity(evidence.len());
            for h in &evidence {
                let next = hits.len() as u32;
                indices.push(*hits.entry(*h).or_insert(next));
            }
            events.push((r, indices, near));
        }
        let mut evidence: Vec<(u32, Evidence)> = Vec::with_capacity(hits.len());
        for (h, i) in hits {
            if let Some(field) = scan.fields.iter().find(|f| f.index == h.field) {
                let text = field.slice(h.start, h.end).to_owned();
                evidence.push((
                    i,
                    (
                        h.field,
                        h.start,
                        h.end,
                        h.tid,
                        text,
                        field.snippet(h.start, h.end, SNIPPET),
                    ),
                ));
            }
        }
        evidence.sort_unstable_by_key(|(i, _)| *i);
        (
            events,
            actors,
            evidence.into_iter().map(|(_, e)| e).collect(),
        )
    }

    /// Every hit of every term (grouped by term id) and every actor's mentions: what explanations look at.
    fn scan(
        &self,
        fields: Vec<(u8, PyBackedStr)>,
        regex_hits: Vec<RawHit>,
    ) -> (Vec<RawHit>, Vec<(u32, Vec<RawHit>)>) {
        let scan = self.scan_fields(&fields, &regex_hits);
        let mentions = scan
            .mentions
            .iter()
            .map(|(&a, m)| (a, m.iter().map(raw).collect()))
            .collect();
        (scan.hits.iter().map(raw).collect(), mentions)
    }
}

impl Engine {
    /// Presearch: the events all of whose key sets have a term or actor in the article, and those without any.
    fn candidates(&self, scan: &Scan) -> Vec<u32> {
        let mut keys: Vec<u32> = Vec::new(); // event << 1 | which of its key sets
        for &(tid, _, _) in &scan.ranges {
            keys.extend_from_slice(self.rules_of_term.get(tid));
        }
        for &actor in scan.mentions.keys() {
            keys.extend_from_slice(self.rules_of_actor.get(actor));
        }
        keys.sort_unstable();
        keys.dedup();
        let mut candidates = self.always.clone();
        for run in keys.chunk_by(|a, b| a >> 1 == b >> 1) {
            let r = run[0] >> 1;
            if self.needs.get(r as usize) == Some(&(run.len() as u8)) {
                candidates.push(r);
            }
        }
        candidates.sort_unstable();
        candidates
    }

    fn scan_fields<'a>(&self, fields: &'a [(u8, PyBackedStr)], regex_hits: &[RawHit]) -> Scan<'a> {
        let fields: Vec<Field<'a>> = fields
            .iter()
            .map(|(i, text)| Field::new(*i, text))
            .collect();
        let mut hits = Vec::with_capacity(256);
        for field in &fields {
            self.trie
                .walk_all(&field.norm, field.word_starts(), |value, end, cp| {
                    if value & SIMPLE != 0 {
                        let stem = value & KEY_STEM != 0;
                        hits.push(key_hit(field, value & (TID_LIMIT - 1), stem, cp, end));
                    } else {
                        hits.extend(self.phrases[value as usize].confirm(field, cp, end));
                    }
                });
        }
        hits.extend(regex_hits.iter().map(|&(field, start, end, tid)| Hit {
            field,
            start,
            end,
            tid,
        }));
        hits.sort_unstable_by_key(|h| (h.tid, h.field, h.start, h.end)); // in text order within a term
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < hits.len() {
            let tid = hits[i].tid;
            let j = i + hits[i..].iter().take_while(|h| h.tid == tid).count();
            ranges.push((tid, i, j));
            i = j;
        }
        let mut scan = Scan {
            fields,
            hits,
            ranges,
            mentions: BTreeMap::new(),
        };
        scan.mentions = self.mentions(&scan);
        scan
    }

    /// Actor index -> its mentions, without those inside one of the actor's `exclude` phrases, and without a
    /// mention that starts inside the one before it ("North Korea" and "Korea" both aliases: one mention).
    fn mentions(&self, scan: &Scan) -> BTreeMap<u32, Vec<Hit>> {
        let mut mentions: BTreeMap<u32, Vec<Hit>> = BTreeMap::new();
        let mut excluded: BTreeMap<u32, Vec<Hit>> = BTreeMap::new();
        for &(tid, lo, hi) in &scan.ranges {
            let found = &scan.hits[lo..hi];
            for &actor in self.exclude_terms.get(tid) {
                excluded.entry(actor).or_default().extend_from_slice(found);
            }
            for &actor in self.actor_terms.get(tid) {
                mentions.entry(actor).or_default().extend_from_slice(found);
            }
        }
        for (actor, found) in mentions.iter_mut() {
            if let Some(spans) = excluded.get(actor) {
                found.retain(|h| {
                    !spans
                        .iter()
                        .any(|e| e.field == h.field && e.start <= h.start && h.end <= e.end)
                });
            }
            found.sort_unstable();
            let sorted = std::mem::take(found);
            *found = sorted
                .iter()
                .enumerate()
                .filter(|&(i, h)| {
                    !(i > 0 && sorted[i - 1].field == h.field && h.start < sorted[i - 1].end)
                })
                .map(|(_, h)| *h)
                .collect();
        }
        mentions.retain(|_, found| !found.is_empty());
        mentions
    }
}

type Ranges = Vec<(u32, u32)>;

/// `matcher.terms.fold(text)` as the core does it (the unit tests compare the two).
#[pyfunction]
fn fold(text: &str) -> String {
    text::fold(text)
}

/// `alerts.fingerprint.simhash` of a text: its words split and lower-cased as Python's `\w+` and `str.lower` do
/// (the unit tests compare it with the Python definition on every article of the corpus).
#[pyfunction]
fn simhash_text(text: &str) -> u64 {
    simhash::simhash(&simhash::words(text))
}

/// The words `simhash_text` hashes, for the tests.
#[pyfunction]
fn simhash_words_of(text: &str) -> Vec<String> {
    simhash::words(text)
}

/// Inclusive code point ranges of Python's `\w` and `\s` as built in (the unit tests compare them with Python's).
#[pyfunction]
fn char_tables() -> (Ranges, Ranges) {
    (tables::WORD.to_vec(), tables::SPACE.to_vec())
}

#[pymodule]
fn newswatch_scan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(char_tables, m)?)?;
    m.add_function(wrap_pyfunction!(fold, m)?)?;
    m.add_function(wrap_pyfunction!(simhash_text, m)?)?;
    m.add_function(wrap_pyfunction!(simhash_words_of, m)?)?;
    Ok(())
}
