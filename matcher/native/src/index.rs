//! A one-to-many map from dense keys (term ids, actor indices) to values, in two flat arrays.
//!
//! A `Vec<Vec<u32>>` costs two cache misses a lookup at 10,000 rules (the inner Vec's header, 24 bytes a key, then
//! its buffer); here the offsets are 4 bytes a key and the values of neighbouring keys sit side by side.

pub struct Index {
    /// key k's values are `values[starts[k]..starts[k + 1]]`
    starts: Vec<u32>,
    values: Vec<u32>,
}

impl Index {
    /// The index of `pairs` (key, value) over keys `0..size`; pairs with a key outside it are dropped. Values keep
    /// their order within a key.
    pub fn new(mut pairs: Vec<(u32, u32)>, size: usize) -> Self {
        pairs.retain(|&(key, _)| (key as usize) < size);
        pairs.sort_by_key(|&(key, _)| key); // stable: values keep their order
        let mut starts = vec![0u32; size + 1];
        for &(key, _) in &pairs {
            starts[key as usize + 1] += 1;
        }
        for k in 0..size {
            starts[k + 1] += starts[k];
        }
        Index {
            starts,
            values: pairs.into_iter().map(|(_, value)| value).collect(),
        }
    }

    /// The values of `key` (none for a key outside the index).
    #[inline]
    pub fn get(&self, key: u32) -> &[u32] {
        let k = key as usize;
        match (self.starts.get(k), self.starts.get(k + 1)) {
            (Some(&lo), Some(&hi)) => &self.values[lo as usize..hi as usize],
            _ => &[],
        }
    }
}
