//! The automaton keys (with the phrases each stands for) as a trie walked from each word start of the
//! normalised text.
//!
//! Every key starts at a word start (its leading space), so instead of an Aho-Corasick pass over every byte, the
//! trie is walked from each word start and stops at the first byte no key continues with: most words of an
//! article start no key, and the walk ends after a byte or two. At 10,000 rules the trie has some 250,000 nodes
//! and the walk's cost is its cache misses, so each step is one probe of an open-addressing table of edges
//! (node, byte) -> child rather than a node record, then its child list.

use std::collections::BTreeMap;

const EMPTY: u32 = u32::MAX;
const VALUES: u32 = 1 << 31; // a child's flag: it ends keys (look up its values)

pub struct Trie {
    /// the child of the root by each byte (0: none)
    root: [u32; 256],
    /// open addressing, linear probing: (node << 8 | byte, child); node ids fit in 23 bits
    edges: Vec<(u32, u32)>,
    mask: usize,
    /// per node: its values' range in `values`
    ranges: Vec<(u32, u32)>,
    values: Vec<u32>,
}

/// A hint to load the cache line of `item` (nothing where the architecture has no such hint here).
#[inline(always)]
fn prefetch<T>(item: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it reads nothing and cannot fault, and `item` is a valid reference
    #[allow(unused_unsafe)]
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

#[inline]
fn slot(key: u32, mask: usize) -> usize {
    ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl Trie {
    /// A trie of `keys` (each without the leading space the automaton keys share), each with its values.
    pub fn new(keys: &[(Vec<u8>, Vec<u32>)]) -> Result<Self, String> {
        let mut children: Vec<BTreeMap<u8, u32>> = vec![BTreeMap::new()];
        let mut ends: Vec<Vec<u32>> = vec![Vec::new()];
        for (key, values) in keys {
            let mut node = 0usize;
            for &b in key {
                let next = children.len() as u32;
                let child = *children[node].entry(b).or_insert(next);
                if child == next {
                    children.push(BTreeMap::new());
                    ends.push(Vec::new());
                }
                node = child as usize;
            }
            ends[node].extend(values);
        }
        if children.len() >= 1 << 23 {
            return Err(format!("{} trie nodes: too many keys", children.len()));
        }
        let edge_count: usize = children.iter().map(BTreeMap::len).sum();
        let size = (edge_count * 2).next_power_of_two().max(16);
        let mut trie = Trie {
            root: [0; 256],
            edges: vec![(EMPTY, 0); size],
            mask: size - 1,
            ranges: Vec::with_capacity(ends.len()),
            values: Vec::new(),
        };
        for found in &ends {
            trie.ranges
                .push((trie.values.len() as u32, found.len() as u32));
            trie.values.extend(found);
        }
        let flag = |child: u32| {
            if ends[child as usize].is_empty() {
                child
            } else {
                child | VALUES
            }
        };
        for (node, map) in children.iter().enumerate() {
            for (&b, &child) in map {
                if node == 0 {
                    trie.root[b as usize] = flag(child);
                    continue;
                }
                let key = (node as u32) << 8 | b as u32;
                let mut i = slot(key, trie.mask);
                while trie.edges[i].0 != EMPTY {
                    i = (i + 1) & trie.mask;
                }
                trie.edges[i] = (key, flag(child));
            }
        }
        Ok(trie)
    }

    #[inline]
    fn child(&self, node: u32, b: u8) -> u32 {
        let key = node << 8 | b as u32;
        let mut i = slot(key, self.mask);
        loop {
            let (k, child) = self.edges[i];
            if k == key {
                return child;
            }
            if k == EMPTY {
                return 0;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Asks for the cache lines the next step of a walk at `node`, about to read `text[pos]`, will read: its
    /// values' range and its edge slot. Issued a round of lanes ahead, the misses overlap instead of stalling
    /// each step in turn.
    #[inline(always)]
    fn warm(&self, text: &[u8], node: u32, pos: usize) {
        if node & VALUES != 0 {
            prefetch(&self.ranges[(node & !VALUES) as usize]);
        }
        if let Some(&b) = text.get(pos) {
            prefetch(&self.edges[slot((node & !VALUES) << 8 | b as u32, self.mask)]);
        }
    }

    /// Calls `found(value, end, tag)` for every value of every key that starts at a start of `starts` (end: one
    /// past the key's last byte; tag: the start's). Eight walks advance in turn, and each step asks for the
    /// cache lines of its walk's next step (`warm`): the steps of one walk wait on each other's misses, those of
    /// different walks do not, so up to eight misses are under way at once. (Four walks without the prefetch
    /// ran the 10,000-rule bench at ~410 us an article in the native core, eight with it at ~235 us; sixteen were
    /// no faster: the core's queue of outstanding misses is full.)
    pub fn walk_all(
        &self,
        text: &[u8],
        starts: impl Iterator<Item = (usize, u32)>,
        mut found: impl FnMut(u32, usize, u32),
    ) {
        const LANES: usize = 8;
        let mut starts = starts.filter_map(|(start, tag)| {
            let node = self.root[*text.get(start)? as usize];
            (node != 0).then(|| {
                self.warm(text, node, start + 1);
                (node, start + 1, tag)
            })
        });
        let mut lanes: [(u32, usize, u32); LANES] = [(0, 0, 0); LANES];
        let mut active = 0;
        for lane in lanes.iter_mut() {
            match starts.next() {
                Some(walk) => {
                    *lane = walk;
                    active += 1;
                }
                None => break,
            }
        }
        while active > 0 {
            for lane in lanes[..active].iter_mut() {
                let (node, pos, tag) = *lane;
                if node & VALUES != 0 {
                    let (lo, len) = self.ranges[(node & !VALUES) as usize];
                    for &value in &self.values[lo as usize..(lo + len) as usize] {
                        found(value, pos, tag);
                    }
                }
                let next = match text.get(pos) {
                    Some(&b) => self.child(node & !VALUES, b),
                    None => 0,
                };
                *lane = if next != 0 {
                    self.warm(text, next, pos + 1);
                    (next, pos + 1, tag)
                } else {
                    starts.next().unwrap_or((0, 0, 0))
                };
            }
            // drop finished lanes (no more starts to refill them)
            let mut kept = 0;
            for i in 0..active {
                if lanes[i].0 != 0 {
                    lanes[kept] = lanes[i];
                    kept += 1;
                }
            }
            active = kept;
        }
    }
}
