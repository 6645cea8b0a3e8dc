//! Looking operators up by name or alias in `ops::REGISTRY`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{GraphError, Result};
use crate::operator::OpDef;
use crate::ops::REGISTRY;

fn index() -> &'static HashMap<&'static str, &'static OpDef> {
    static INDEX: OnceLock<HashMap<&'static str, &'static OpDef>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::new();
        for def in all() {
            for name in std::iter::once(&def.name).chain(def.aliases) {
                let previous = map.insert(*name, def);
                assert!(previous.is_none(), "operator name {name} registered twice");
            }
        }
        map
    })
}

/// Every registered operator.
pub fn all() -> impl Iterator<Item = &'static OpDef> {
    REGISTRY.iter().flat_map(|family| family.iter())
}

pub fn lookup(name: &str) -> Result<&'static OpDef> {
    index().get(name).copied().ok_or_else(|| GraphError::UnknownOp(name.to_string()))
}
