//! `ErrorLog`: failures not yet reported at a wait, so `wait_all` raises each one once.

use std::sync::{Arc, Mutex};

use crate::error::EngineError;

#[derive(Default)]
pub(crate) struct ErrorLog {
    unreported: Mutex<Vec<Arc<EngineError>>>,
}

impl ErrorLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<EngineError>>> {
        self.unreported.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A failure started (inherited copies are the same failure and are not recorded again).
    pub(crate) fn record(&self, error: Arc<EngineError>) {
        self.lock().push(error);
    }

    /// A wait on a variable reported `error`: `wait_all` need not raise it again.
    pub(crate) fn mark_reported(&self, error: &Arc<EngineError>) {
        self.lock().retain(|e| !Arc::ptr_eq(e, error));
    }

    /// The oldest unreported failure; all are reported by this call.
    pub(crate) fn take_first(&self) -> Option<EngineError> {
        let mut list = self.lock();
        let first = list.first().map(|e| (**e).clone());
        list.clear();
        first
    }
}
