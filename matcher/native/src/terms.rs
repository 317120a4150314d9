//! Phrase terms: one automaton over the normalised text for all of them, then a check of the candidate.
//!
//! A key starts with a space, so it can only match at the start of a word: " truce " is a whole word, " mercenar"
//! a stem (the word runs to the next space), " peace talks " a phrase of whole words. A phrase with a stem is keyed
//! up to its first stem (" drone" for "drone* attack*"); its other words are then confirmed one by one.
//! Case-sensitive terms are then checked as written against the original text.

use crate::text::{is_space, is_word, Field};

pub struct Phrase {
    pub tid: u32,
    /// how many words the key holds: up to and including the first stem (its letters only)
    keyed: usize,
    /// the key ends with a stem (the word runs on); the key is the whole phrase (no words left to confirm)
    key_stem: bool,
    whole: bool,
    /// the normalised words, each a stem or not
    pub words: Vec<(Vec<u8>, bool)>,
    /// case-sensitive terms: the words as written (split on whitespace), each a stem or not
    pub exact: Option<Vec<(String, bool)>>,
    /// the term as written ends in '*': no end-of-word check after the last exact word
    pub exact_open: bool,
}

/// Where the words of a key found up to byte `key_end` of `norm` end: past the rest of the word after a stem,
/// before the trailing space of whole words.
#[inline]
fn key_end_byte(norm: &[u8], key_end: usize, key_stem: bool) -> usize {
    if key_stem {
        key_end + norm[key_end..].iter().take_while(|&&b| b != b' ').count()
    } else {
        key_end - 1
    }
}

/// The hit of a simple phrase (see `Phrase::simple`) whose key was found from code point `start` to byte
/// `key_end` of the field's normalised text.
#[inline]
pub fn key_hit(field: &Field, tid: u32, key_stem: bool, start: u32, key_end: usize) -> Hit {
    Hit {
        field: field.index,
        start,
        end: field.word_end(key_end_byte(&field.norm, key_end, key_stem)),
        tid,
    }
}

/// A confirmed hit: the field, its code point span in the original text and the term id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    pub field: u8,
    pub start: u32,
    pub end: u32,
    pub tid: u32,
}

impl Phrase {
    pub fn new(
        tid: u32,
        words: Vec<(Vec<u8>, bool)>,
        exact: Option<Vec<(String, bool)>>,
        exact_open: bool,
    ) -> Self {
        let keyed = words
            .iter()
            .position(|(_, stem)| *stem)
            .map_or(words.len(), |i| i + 1);
        let key_stem = words[keyed - 1].1;
        let whole = keyed == words.len();
        Phrase {
            tid,
            keyed,
            key_stem,
            whole,
            words,
            exact,
            exact_open,
        }
    }

    /// The automaton key: " drone attack " (whole words: a trailing space), " mercenar" (a stem: none).
    pub fn key(&self) -> Vec<u8> {
        let keyed = self.keyed;
        let mut key = vec![b' '];
        for (i, (word, _)) in self.words[..keyed].iter().enumerate() {
            if i > 0 {
                key.push(b' ');
            }
            key.extend_from_slice(word);
        }
        if keyed == self.words.len() && !self.words.last().is_some_and(|(_, stem)| *stem) {
            key.push(b' ');
        }
        key
    }

    /// Whether a found key is already this phrase's hit (the key is the whole phrase and case does not matter),
    /// and if so whether the key ends in a stem: such a phrase needs no `confirm`, only `key_hit`.
    pub fn simple(&self) -> Option<bool> {
        (self.whole && self.exact.is_none()).then_some(self.key_stem)
    }

    /// The hit of this phrase for its key found at a word start (`start`: its code point offset) up to byte
    /// `key_end` of the normalised text, if the candidate holds.
    pub fn confirm(&self, field: &Field, start: u32, key_end: usize) -> Option<Hit> {
        let norm = &field.norm;
        let mut pos = key_end_byte(norm, key_end, self.key_stem);
        let rest = if self.whole {
            &[][..]
        } else {
            &self.words[self.keyed..]
        };
        for (word, stem) in rest {
            // norm is words and single spaces, ending in a space: after a word comes a space
            if !norm[pos + 1..].starts_with(word) {
                return None;
            }
            pos += 1 + word.len();
            if *stem {
                pos += norm[pos..].iter().take_while(|&&b| b != b' ').count();
            } else if norm.get(pos) != Some(&b' ') {
                return None;
            }
        }
        let mut end = field.word_end(pos);
        if let Some(words) = &self.exact {
            end = self.exact_end(field, start, words)?;
        }
        Some(Hit {
            field: field.index,
            start,
            end,
            tid: self.tid,
        })
    }

    /// The end (code point) of the case-sensitive words matched at code point `start` of the original text.
    fn exact_end(&self, field: &Field, start: u32, words: &[(String, bool)]) -> Option<u32> {
        let text = field.original;
        let from = field.original_byte(start);
        let mut pos = from;
        for (i, (word, stem)) in words.iter().enumerate() {
            if i > 0 {
                let spaces: usize = text[pos..]
                    .chars()
                    .take_while(|&c| is_space(c))
                    .map(char::len_utf8)
                    .sum();
                if spaces == 0 {
                    return None;
                }
                pos += spaces;
            }
            if !text[pos..].starts_with(word.as_str()) {
                return None;
            }
            pos += word.len();
            if *stem {
                pos += text[pos..]
                    .chars()
                    .take_while(|&c| is_word(c))
                    .map(char::len_utf8)
                    .sum::<usize>();
            }
        }
        if !self.exact_open && text[pos..].chars().next().is_some_and(is_word) {
            return None;
        }
        Some(start + text[from..pos].chars().count() as u32)
    }
}
