//! The wasmtime engine every plugin runs on: component model, async host calls,
//! a pooling allocator sized for the node, and epoch interruption driven by a
//! ticker thread so every call can have a wall-clock deadline.

use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::PluginHostConfig;

/// How often the epoch advances. A running plugin yields to the executor at
/// every tick and is stopped at the first tick past its deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

pub fn build(config: &PluginHostConfig) -> wasmtime::Result<Engine> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true);
    wasm.epoch_interruption(true);
    wasm.cranelift_opt_level(wasmtime::OptLevel::Speed);

    // Every running call holds an instance, and so does every idle instance
    // kept for reuse (at most as many as running calls).
    let slots = config.max_concurrent_calls * 2;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots);
    pool.total_core_instances(slots * 8);
    pool.total_memories(slots * 2);
    pool.total_tables(slots * 4);
    pool.total_stacks(slots);
    pool.max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX));
    pool.max_core_instances_per_component(64);
    pool.max_memories_per_component(8);
    pool.max_tables_per_component(16);
    pool.table_elements(100_000);
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
pub fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("bottega-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!("could not start the epoch ticker: {e}; plugin deadlines will not fire"));
}
