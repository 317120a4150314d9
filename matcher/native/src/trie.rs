//! The automaton keys (with the phrases each stands for) as a trie walked from each word start of the normalised text.
//!
//! Every key starts at a word start (its leading space), so instead of an Aho-Corasick pass over every byte, the
//! trie is walked from each word start and stops at the first byte no key continues with: most words of an
//! article start no key, and the walk ends after a byte or two.

use std::collections::BTreeMap;

/// A node: its children's range in `bytes` / `nodes` and its values' range in `values` (one cache line).
#[derive(Clone, Copy)]
struct Node {
    children: u32,
    children_len: u32,
    values: u32,
    values_len: u32,
}

pub struct Trie {
    /// the node reached from the root by each byte (0: none; the root is node 0 and never a child)
    root: Vec<u32>,
    nodes: Vec<Node>,
    bytes: Vec<u8>,
    children: Vec<u32>,
    values: Vec<u32>,
}

impl Trie {
    /// A trie of `keys` (each without the leading space the automaton keys share), each with its values.
    pub fn new(keys: &[(Vec<u8>, Vec<u32>)]) -> Self {
        // a plain trie first, then flattened so each node's children are contiguous and sorted
        let mut tree: Vec<(BTreeMap<u8, u32>, Vec<u32>)> = vec![(BTreeMap::new(), Vec::new())];
        for (key, values) in keys {
            let mut node = 0usize;
            for &b in key {
                let next = tree.len() as u32;
                let child = *tree[node].0.entry(b).or_insert(next);
                if child == next {
                    tree.push((BTreeMap::new(), Vec::new()));
                }
                node = child as usize;
            }
            tree[node].1.extend(values);
        }
        let mut trie = Trie {
            root: vec![0; 256],
            nodes: Vec::with_capacity(tree.len()),
            bytes: Vec::new(),
            children: Vec::new(),
            values: Vec::new(),
        };
        for (children, values) in &tree {
            trie.nodes.push(Node {
                children: trie.bytes.len() as u32,
                children_len: children.len() as u32,
                values: trie.values.len() as u32,
                values_len: values.len() as u32,
            });
            trie.bytes.extend(children.keys());
            trie.children.extend(children.values());
            trie.values.extend(values);
        }
        for (&b, &child) in &tree[0].0 {
            trie.root[b as usize] = child;
        }
        trie
    }

    /// Calls `found(value, end)` for every value of every key that starts at `text[start]` (end: one past its
    /// last byte).
    #[inline]
    pub fn walk(&self, text: &[u8], start: usize, mut found: impl FnMut(u32, usize)) {
        let Some(&first) = text.get(start) else {
            return;
        };
        let mut node = self.root[first as usize] as usize;
        let mut pos = start + 1;
        while node != 0 {
            let n = self.nodes[node];
            for &value in &self.values[n.values as usize..(n.values + n.values_len) as usize] {
                found(value, pos);
            }
            let Some(&b) = text.get(pos) else { return };
            let bytes = &self.bytes[n.children as usize..(n.children + n.children_len) as usize];
            node = match bytes.binary_search(&b) {
                Ok(i) => self.children[n.children as usize + i] as usize,
                Err(_) => 0,
            };
            pos += 1;
        }
    }

    pub fn memory_usage(&self) -> usize {
        self.root.len() * 4 + self.nodes.len() * 16 + self.bytes.len() * 5 + self.values.len() * 4
    }
}
