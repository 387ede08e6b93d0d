//! Every test plugin the build produces is used by some test here.

#[test]
fn every_built_plugin_is_used_by_a_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    let sources: String = std::fs::read_dir(&dir)
        .expect("e2e folder")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name() != "test_plugins.rs")
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect();
    for (name, path) in bottega_plugin_artifacts::ALL {
        assert!(std::path::Path::new(path).exists(), "{name} was built at {path}");
        assert!(sources.contains(&format!("plugins::{name}")), "no test uses plugins::{name}");
    }
}
