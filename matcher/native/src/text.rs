//! One article field as the automaton sees it, and the conversions between its offsets.
//!
//! Python hands over each field as written; it is folded here exactly as `matcher.terms.fold` folds the terms
//! (Python's lower case from generated tables, final sigma included; `ё` -> `е`; same length in code points).
//! The folded text's words (runs of word characters)
//! are joined by one space, with one space on each side, so an automaton key " word" can only match at a word
//! start and a phrase is one key " peace talks " however the words were separated ("peace, talks"). The automaton
//! runs on UTF-8 bytes; every hit starts and ends on a word boundary, and each word remembers its code point
//! span, so what is reported back is a code point offset into the field as written.

use std::cell::OnceCell;

use crate::tables::{CASED, IGNORABLE, LOWER, MULTI, SPACE, WORD};

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

const ASCII_WORD: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    table
};

/// Python's `\w`: `str.isalnum()` or '_' (not Rust's `char::is_alphanumeric`, which differs on marks and numbers).
#[inline]
pub fn is_word(c: char) -> bool {
    if c.is_ascii() {
        ASCII_WORD[c as usize]
    } else {
        in_table(&WORD, c)
    }
}

/// Python's `\s`: `str.isspace()`.
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(
            c,
            ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f'
        )
    } else {
        in_table(&SPACE, c)
    }
}

/// Python's lower case of one character as `matcher.terms.fold` uses it (the first when it lowers to several).
#[inline]
pub fn lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    match LOWER.binary_search_by_key(&(c as u32), |&(from, _)| from) {
        Ok(i) => char::from_u32(LOWER[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

/// Whether the 'Σ' at byte `at` of `text` is word-final for `str.lower()` (CPython's `handle_capital_sigma`):
/// a cased letter before it and none after it, skipping case-ignorable characters both ways.
pub fn final_sigma(text: &str, at: usize) -> bool {
    let before = text[..at].chars().rev().find(|&c| !in_table(&IGNORABLE, c));
    if !before.is_some_and(|c| in_table(&CASED, c)) {
        return false;
    }
    let after = text[at + 'Σ'.len_utf8()..]
        .chars()
        .find(|&c| !in_table(&IGNORABLE, c));
    !after.is_some_and(|c| in_table(&CASED, c))
}

/// Folds `text` as `matcher.terms.fold` does: Python's `str.lower()` (each character's first when a character
/// lowers to several, which keeps the length), then 'ё' -> 'е'.
pub struct Folder<'a> {
    text: &'a str,
    whole: bool, // str.lower() of the whole text (final sigma applies), not character by character
}

impl<'a> Folder<'a> {
    pub fn new(text: &'a str) -> Self {
        let whole = text.is_ascii()
            || !MULTI
                .iter()
                .any(|&m| char::from_u32(m).is_some_and(|m| text.contains(m)));
        Folder { text, whole }
    }

    /// The folded character at byte `i` (a char boundary) and the length of the original one.
    #[inline(always)]
    pub fn at(&self, i: usize) -> (char, usize) {
        let b = self.text.as_bytes()[i];
        if b < 0x80 {
            return ((b as char).to_ascii_lowercase(), 1);
        }
        let c = self.text[i..].chars().next().unwrap_or(' ');
        let low = match c {
            'Σ' if self.whole && final_sigma(self.text, i) => 'ς',
            _ => lower(c),
        };
        (if low == 'ё' { 'е' } else { low }, c.len_utf8())
    }
}

/// The folded text (what `matcher.terms.fold` returns), for the tests.
pub fn fold(text: &str) -> String {
    let folder = Folder::new(text);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let (c, len) = folder.at(i);
        out.push(c);
        i += len;
    }
    out
}

/// A word of the normalised text: where it starts there, and its code point span in the field.
struct Word {
    norm: u32,
    cp: u32,
    cp_end: u32,
}

pub struct Field<'a> {
    /// 0 title, 1 summary, 2 content, 3 text (the order of matcher.compile.FIELDS)
    pub index: u8,
    pub original: &'a str,
    /// its length in code points
    pub len: u32,
    /// the folded text's words separated by one space, with one space before the first and after the last
    pub norm: Vec<u8>,
    norm_words: Vec<Word>,
    /// the original text's non-ASCII characters: (code point offset, byte offset, length), built on first use
    multibyte: OnceCell<Vec<(u32, u32, u32)>>,
    /// code point offsets where the words (`\w+`) of the original text start, for word distances
    words: OnceCell<Vec<u32>>,
}

impl<'a> Field<'a> {
    pub fn new(index: u8, original: &'a str) -> Self {
        let folder = Folder::new(original);
        let n = original.len();
        let mut norm = Vec::with_capacity(n + 2);
        let mut norm_words: Vec<Word> = Vec::with_capacity(n / 4);
        norm.push(b' ');
        let (mut i, mut cp) = (0, 0u32);
        // run by run (a word, then the separators after it): one unpredictable branch per run, not per byte
        while i < n {
            let (c, len) = folder.at(i);
            if !is_word(c) {
                i += len;
                cp += 1;
                continue;
            }
            norm_words.push(Word {
                norm: norm.len() as u32,
                cp,
                cp_end: 0,
            });
            while i < n {
                let (c, len) = folder.at(i);
                if !is_word(c) {
                    break;
                }
                if c.is_ascii() {
                    norm.push(c as u8);
                } else {
                    let mut buf = [0u8; 4];
                    norm.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                i += len;
                cp += 1;
            }
            if let Some(w) = norm_words.last_mut() {
                w.cp_end = cp;
            }
            norm.push(b' ');
        }
        Field {
            index,
            original,
            len: cp,
            norm,
            norm_words,
            multibyte: OnceCell::new(),
            words: OnceCell::new(),
        }
    }

    /// Each word of `norm`: where it starts there, and its code point offset in the field.
    pub fn word_starts(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.norm_words.iter().map(|w| (w.norm as usize, w.cp))
    }

    /// The code point offset just after the word that ends at byte `pos` of `norm` (where its space is).
    pub fn word_end(&self, pos: usize) -> u32 {
        let i = self.norm_words.partition_point(|w| (w.norm as usize) < pos);
        i.checked_sub(1)
            .and_then(|i| self.norm_words.get(i))
            .map_or(0, |w| w.cp_end)
    }

    /// The byte offset in the original text of code point offset `cp`.
    pub fn original_byte(&self, cp: u32) -> usize {
        if self.original.is_ascii() {
            return cp as usize;
        }
        let multibyte = self.multibyte.get_or_init(|| {
            self.original
                .char_indices()
                .enumerate()
                .filter(|(_, (_, c))| !c.is_ascii())
                .map(|(cp, (b, c))| (cp as u32, b as u32, c.len_utf8() as u32))
                .collect()
        });
        match multibyte
            .partition_point(|&(c, _, _)| c <= cp)
            .checked_sub(1)
        {
            None => cp as usize,
            Some(i) => {
                let (c, b, len) = multibyte[i];
                (if c == cp { b } else { b + len + (cp - c - 1) }) as usize
            }
        }
    }

    /// The original text from code point `start` to `end`.
    pub fn slice(&self, start: u32, end: u32) -> &'a str {
        &self.original[self.original_byte(start)..self.original_byte(end)]
    }

    /// Up to `context` code points either side of `start..end`, whitespace runs as one space (Python's
    /// `" ".join(text[lo:hi].split())`).
    pub fn snippet(&self, start: u32, end: u32, context: u32) -> String {
        let text = self.slice(start.saturating_sub(context), (end + context).min(self.len));
        let mut out = String::with_capacity(text.len());
        for word in text.split(is_space).filter(|w| !w.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// Start offsets of the words of the original text (Python's `[m.start() for m in re.finditer(r"\w+", text)]`).
    pub fn words(&self) -> &[u32] {
        self.words.get_or_init(|| {
            let mut starts = Vec::new();
            let mut in_word = false;
            for (cp, c) in self.original.chars().enumerate() {
                let word = is_word(c);
                if word && !in_word {
                    starts.push(cp as u32);
                }
                in_word = word;
            }
            starts
        })
    }

    /// The indices of the first and last word of the span `start..end` (Python's `bisect_right(starts, x) - 1`).
    pub fn word_span(&self, start: u32, end: u32) -> (i64, i64) {
        let words = self.words();
        let first = words.partition_point(|&w| w <= start) as i64 - 1;
        let last = words.partition_point(|&w| w < end) as i64 - 1; // bisect_right(starts, end - 1)
        (first, last)
    }
}
