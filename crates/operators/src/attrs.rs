//! `Attrs`: an operator's parameters as MXNet passes them, strings by name (`"kernel": "(3, 3)"`,
//! `"no_bias": "False"`), and the typed parsing each operator uses, with errors that name the
//! operator and the parameter.

use rmx_kernels::DType;

use crate::error::{param_err, Result};

/// Kept as a short list: operators have a handful of parameters, and a call builds one per
/// invocation, so a map would cost more than it saves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs {
    map: Vec<(String, String)>,
}

impl Attrs {
    pub fn new() -> Self {
        Self::default()
    }

    /// The operator parameters only: without the `__key__` attributes symbols carry
    /// (`__lr_mult__`, `__init__`, ...), which no operator parses.
    pub fn op_params(&self) -> Attrs {
        Attrs { map: self.map.iter().filter(|(k, _)| !is_hidden_key(k)).cloned().collect() }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut a = Attrs::default();
        for (k, v) in pairs {
            a.set(k, v);
        }
        a
    }

    /// Sets `key`, replacing an earlier value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        match self.map.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.map.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Refuses keys that are not parameters of `op` (hidden `__key__` attributes pass).
    pub fn check_known(&self, op: &str, known: &[&str]) -> Result<()> {
        for (k, _) in &self.map {
            let hidden = k.starts_with("__") && k.ends_with("__");
            if !hidden && !known.contains(&k.as_str()) && !COMMON.contains(&k.as_str()) {
                let list = known.join(", ");
                return Err(param_err(op, k, format!("not a parameter of {op} (it takes: {list})")));
            }
        }
        Ok(())
    }

    pub fn f64(&self, op: &str, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None | Some("None") => Ok(default),
            Some(v) => parse_f64(v).ok_or_else(|| param_err(op, key, format!("expected a number, got {v:?}"))),
        }
    }

    pub fn required_f64(&self, op: &str, key: &str) -> Result<f64> {
        let v = self.get(key).ok_or_else(|| param_err(op, key, "required"))?;
        parse_f64(v).ok_or_else(|| param_err(op, key, format!("expected a number, got {v:?}")))
    }

    pub fn int(&self, op: &str, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            None | Some("None") => Ok(default),
            Some(v) => parse_int(v).ok_or_else(|| param_err(op, key, format!("expected an integer, got {v:?}"))),
        }
    }

    pub fn opt_int(&self, op: &str, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None | Some("None") => Ok(None),
            Some(v) => parse_int(v).map(Some).ok_or_else(|| param_err(op, key, format!("expected an integer, got {v:?}"))),
        }
    }

    pub fn bool(&self, op: &str, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some("True" | "true" | "1") => Ok(true),
            Some("False" | "false" | "0") => Ok(false),
            Some(v) => Err(param_err(op, key, format!("expected True or False, got {v:?}"))),
        }
    }

    /// A tuple of integers: `"(2, 3)"`, `"[2,3]"`, `"2"` or `"()"`.
    pub fn ints(&self, op: &str, key: &str) -> Result<Option<Vec<i64>>> {
        match self.get(key) {
            None | Some("None") => Ok(None),
            Some(v) => parse_ints(v).map(Some).ok_or_else(|| param_err(op, key, format!("expected a tuple of integers, got {v:?}"))),
        }
    }

    /// A tuple of C `float`s (each parsed as float32 directly, one rounding as C's `strtof`):
    /// `"(0.1, 0.2)"`, `"[0.1,0.2]"` or `"0.1"`.
    pub fn f32s(&self, op: &str, key: &str) -> Result<Option<Vec<f32>>> {
        match self.get(key) {
            None | Some("None") => Ok(None),
            Some(v) => tuple_items(v).map(|s| s.parse::<f32>().ok()).collect::<Option<_>>().map(Some).ok_or_else(|| param_err(op, key, format!("expected a tuple of floats, got {v:?}"))),
        }
    }

    pub fn str<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// One of `choices`, by name.
    pub fn choice<'a>(&'a self, op: &str, key: &str, default: &'a str, choices: &[&str]) -> Result<&'a str> {
        let v = self.str(key, default);
        if choices.contains(&v) {
            Ok(v)
        } else {
            Err(param_err(op, key, format!("expected one of {choices:?}, got {v:?}")))
        }
    }

    /// A dtype, or None when absent or `"None"` (the operator then keeps its input's).
    pub fn opt_dtype(&self, op: &str, key: &str) -> Result<Option<DType>> {
        match self.get(key) {
            None | Some("None") => Ok(None),
            Some(v) => DType::from_name(v).map(Some).ok_or_else(|| param_err(op, key, format!("unknown dtype {v:?}"))),
        }
    }

    pub fn dtype(&self, op: &str, key: &str, default: DType) -> Result<DType> {
        match self.get(key) {
            None | Some("None") => Ok(default),
            Some(v) => DType::from_name(v).ok_or_else(|| param_err(op, key, format!("unknown dtype {v:?}"))),
        }
    }
}

/// Keys every operator accepts (MXNet's creation helpers pass them through).
const COMMON: &[&str] = &["name", "ctx"];

fn parse_f64(v: &str) -> Option<f64> {
    match v.trim() {
        "inf" | "Inf" => Some(f64::INFINITY),
        "-inf" | "-Inf" => Some(f64::NEG_INFINITY),
        "nan" | "NaN" => Some(f64::NAN),
        "True" => Some(1.0),
        "False" => Some(0.0),
        t => t.parse().ok(),
    }
}

fn parse_int(v: &str) -> Option<i64> {
    let t = v.trim();
    t.parse::<i64>().ok().or_else(|| t.parse::<f64>().ok().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// The items of a tuple as MXNet writes one: `"(2, 3)"`, `"[2,3]"`, `"2"` or `"()"`.
fn tuple_items(v: &str) -> impl Iterator<Item = &str> {
    let t = v.trim().trim_start_matches(['(', '[']).trim_end_matches([')', ']']);
    t.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_ints(v: &str) -> Option<Vec<i64>> {
    tuple_items(v).map(|s| if s == "None" { Some(0) } else { parse_int(s) }).collect()
}

/// A `__key__` attribute: kept on symbol nodes, ignored by operators.
pub fn is_hidden_key(key: &str) -> bool {
    key.len() > 4 && key.starts_with("__") && key.ends_with("__")
}
