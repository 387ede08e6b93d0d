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
    // Fuel metering makes every plugin slower, so only the developer loop
    // asks for it, to show how many instructions a turn ran.
    wasm.consume_fuel(config.count_instructions);

    // Every running call holds an instance, and so does every idle instance
    // kept for reuse (at most as many as running calls).
    let slots = config.max_concurrent_calls * 2;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots);
    // Per-component maxima equal each slot's share of the totals, so no
    // business can take more than its slots' worth of the pool.
    const CORE_INSTANCES: u32 = 16;
    const MEMORIES: u32 = 2;
    const TABLES: u32 = 4;
    pool.total_core_instances(slots * CORE_INSTANCES);
    pool.total_memories(slots * MEMORIES);
    pool.total_tables(slots * TABLES);
    pool.total_stacks(slots);
    pool.max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX));
    pool.max_core_instances_per_component(CORE_INSTANCES);
    pool.max_memories_per_component(MEMORIES);
    pool.max_tables_per_component(TABLES);
    pool.table_elements(100_000);
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
pub fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
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
}
