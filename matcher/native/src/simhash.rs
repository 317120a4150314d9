//! The story fingerprint's inner loop (`alerts.stories.simhash`): 64-bit SimHash over word 3-shingles.
//!
//! The words are Python's `[w.lower() for w in re.findall(r"\w+", text)]` (`words`, with the core's tables of
//! Python's `\w` and `str.lower`); each shingle is hashed with BLAKE2b-64, as `hashlib.blake2b(shingle.encode(),
//! digest_size=8)` does, and the bits that more than half of the shingles set are kept. In Python it was a tenth of
//! the worker's time, for every article that matched a rule; the split and lower case, done in Python, were still
//! half of what was left (issue 20).

use blake2b_simd::many::{hash_many, HashManyJob};
use blake2b_simd::Params;

use crate::text::{final_sigma, is_word, lower};

/// Python's `[w.lower() for w in re.findall(r"\w+", text)]`.
pub fn words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if is_word(c) {
            start.get_or_insert(i);
        } else if let Some(from) = start.take() {
            found.push(python_lower(&text[from..i]));
        }
    }
    if let Some(from) = start {
        found.push(python_lower(&text[from..]));
    }
    found
}

/// Python's `word.lower()`: 'İ' lowers to two characters, and 'Σ' to 'ς' at the end of the word (the word is the
/// whole string `str.lower` sees, so its own ends are the context).
fn python_lower(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(word.len() + 2);
    for (i, c) in word.char_indices() {
        match c {
            '\u{130}' => out.push_str("i\u{307}"),
            'Σ' if final_sigma(word, i) => out.push('ς'),
            _ => out.push(lower(c)),
        }
    }
    out
}

/// The SimHash of the word list: bit `k` set when more than half of the shingles' hashes (read big-endian) have it.
/// A shingle is each run of three words joined by one space; a text of one or two words is one shingle.
pub fn simhash<S: AsRef<str>>(words: &[S]) -> u64 {
    if words.is_empty() {
        return 0;
    }
    let shingles = if words.len() > 2 { words.len() - 2 } else { 1 };
    // Every shingle laid end to end in one buffer, then hashed several at a time (blake2b_simd's `hash_many`: four
    // lanes with AVX2): the same digests as one by one, and the fingerprint of a 2,000-character text takes 58 µs
    // instead of 80 µs. BLAKE2b's one 128-byte block per shingle was most of its cost.
    let mut bytes = Vec::with_capacity(shingles * 24);
    let mut bounds = Vec::with_capacity(shingles + 1);
    bounds.push(0);
    for start in 0..shingles {
        for (i, word) in words[start..(start + 3).min(words.len())]
            .iter()
            .enumerate()
        {
            if i > 0 {
                bytes.push(b' ');
            }
            bytes.extend_from_slice(word.as_ref().as_bytes());
        }
        bounds.push(bytes.len());
    }
    let mut params = Params::new();
    params.hash_length(8);
    let mut jobs: Vec<HashManyJob> = bounds
        .windows(2)
        .map(|span| HashManyJob::new(&params, &bytes[span[0]..span[1]]))
        .collect();
    hash_many(jobs.iter_mut());
    let mut counts = [0u32; 64];
    for job in &jobs {
        let digest = job.to_hash();
        let value = u64::from_be_bytes(digest.as_bytes().try_into().expect("an 8-byte digest"));
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
