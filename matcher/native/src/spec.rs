//! The rule spec as matcher/compile.py hands it over (nested tuples and lists), turned into the core's types.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::rules::{Actors, Item, Node, Side};

fn group(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    obj.extract()
}

fn items(obj: &Bound<'_, PyAny>) -> PyResult<Option<Vec<Item>>> {
    if obj.is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for it in obj.try_iter()? {
        let it = it?;
        out.push(if it.is_instance_of::<PyList>() {
            Item::Group(group(&it)?)
        } else {
            Item::Node(Box::new(node(&it)?))
        });
    }
    Ok(Some(out))
}

fn side(obj: &Bound<'_, PyAny>) -> PyResult<Side> {
    if obj.is_instance_of::<PyList>() {
        Ok(Side::Group(group(obj)?))
    } else {
        let (indices,): (Vec<u32>,) = obj.extract()?;
        Ok(Side::Actors(indices))
    }
}

/// A condition tree from its Python spec (see matcher/compile.py `spec_of`).
pub fn node(obj: &Bound<'_, PyAny>) -> PyResult<Node> {
    let t = obj.cast::<PyTuple>()?;
    if t.len() != 8 {
        return Err(PyValueError::new_err("a node spec has 8 parts"));
    }
    let near = t.get_item(4)?;
    let actor = t.get_item(7)?;
    Ok(Node {
        fields: t.get_item(0)?.extract()?,
        any: items(&t.get_item(1)?)?,
        all: items(&t.get_item(2)?)?,
        none: items(&t.get_item(3)?)?,
        near: if near.is_none() {
            None
        } else {
            let (a, b): (Bound<'_, PyAny>, Bound<'_, PyAny>) = near.extract()?;
            Some((side(&a)?, side(&b)?))
        },
        within: t.get_item(5)?.extract()?,
        min_hits: t.get_item(6)?.extract()?,
        actor: if actor.is_none() {
            None
        } else {
            let (indices, within): (Vec<u32>, Option<i64>) = actor.extract()?;
            Some(Actors { indices, within })
        },
    })
}

/// Python's `(tid, words, exact, exact_open)` (see matcher/terms.py `Phrase`).
pub type PhraseSpec = (u32, Vec<(String, bool)>, Option<Vec<(String, bool)>>, bool);
