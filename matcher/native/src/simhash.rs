//! The story fingerprint's inner loop (`alerts.stories.simhash`): 64-bit SimHash over word 3-shingles.
//!
//! Python splits and lower-cases the words (its `\w` and `str.lower` are the definition); this hashes each shingle
//! with BLAKE2b-64, as `hashlib.blake2b(shingle.encode(), digest_size=8)` does, and keeps the bits that more than
//! half of the shingles set. It was a tenth of the worker's time in Python, for every article that matched a rule.

use blake2::digest::consts::U8;
use blake2::{Blake2b, Digest};

/// The SimHash of the word list: bit `k` set when more than half of the shingles' hashes (read big-endian) have it.
/// A shingle is each run of three words joined by one space; a text of one or two words is one shingle.
pub fn simhash<S: AsRef<str>>(words: &[S]) -> u64 {
    if words.is_empty() {
        return 0;
    }
    let shingles = if words.len() > 2 { words.len() - 2 } else { 1 };
    let mut counts = [0u32; 64];
    for start in 0..shingles {
        // the shingle's bytes fed in parts: the same digest as hashing the joined string, without building it
        let mut hasher = Blake2b::<U8>::new();
        for (i, word) in words[start..(start + 3).min(words.len())].iter().enumerate() {
            if i > 0 {
                hasher.update(b" ");
            }
            hasher.update(word.as_ref().as_bytes());
        }
        let value = u64::from_be_bytes(hasher.finalize().into());
        for (bit, count) in counts.iter_mut().enumerate() {
            *count += ((value >> bit) & 1) as u32;
        }
    }
    let total = shingles as u32;
    counts
        .iter()
        .enumerate()
        .filter(|(_, &count)| 2 * count > total)
        .fold(0u64, |acc, (bit, _)| acc | (1u64 << bit))
}
