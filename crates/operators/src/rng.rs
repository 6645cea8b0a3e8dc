//! The process's random stream and its engine variable: every random operator writes the
//! variable, so draws happen in push order and `mx.random.seed(n)` fixes them.

use std::sync::{Mutex, MutexGuard, OnceLock};

use rmx_engine::{engine, Context, FnProperty, Var};
use rmx_kernels::random::RandomState;

struct Stream {
    state: Mutex<RandomState>,
    var: Var,
}

fn stream() -> &'static Stream {
    static STREAM: OnceLock<Stream> = OnceLock::new();
    // MXNet seeds its default generator with a fixed value too; a fresh process is repeatable.
    STREAM.get_or_init(|| Stream { state: Mutex::new(RandomState::new(0)), var: engine().new_var() })
}

/// The variable random operators write.
pub fn rng_var() -> Var {
    stream().var.clone()
}

/// The generator, for a random operator's compute (its push holds the variable).
pub fn lock() -> MutexGuard<'static, RandomState> {
    stream().state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reseeds the stream after every random operation pushed so far.
pub fn seed(seed: u64) {
    let body = Box::new(move |_: &rmx_engine::RunContext| {
        lock().seed(seed);
        Ok(())
    });
    // Only a deleted variable can refuse a push, and this one is never deleted.
    let _ = engine().push(body, Context::cpu(0), &[], &[rng_var()], FnProperty::Normal, 0, "random_seed".into());
}
