//! Checks over the source tree that keep its docs and its map from drifting,
//! as rust-analyzer's `xtask/src/tidy.rs` does: every module opens with a
//! `//!` doc saying what it owns, every `allow` attribute says why, and no two
//! top-level modules of the runtime import each other, however indirectly.
//!
//! It reads the runtime's `src/` and `benches/` and the end-to-end `tests/`,
//! and names every file that breaks a rule.

use std::path::{Path, PathBuf};

/// The folders checked, from the workspace root.
const CHECKED: &[&str] = &["runtime/src", "runtime/benches", "tests"];

#[test]
fn every_module_opens_with_its_doc() {
    let undocumented: Vec<String> =
        rust_files().into_iter().filter(|(_, text)| !opens_with_module_doc(text)).map(|(path, _)| path).collect();
    assert!(
        undocumented.is_empty(),
        "these files do not begin with a `//!` doc saying what the module owns:\n  {}",
        undocumented.join("\n  ")
    );
}

#[test]
fn every_allow_says_why() {
    let unexplained: Vec<String> = rust_files()
        .into_iter()
        .flat_map(|(path, text)| unexplained_allows(&text).into_iter().map(move |line| format!("{path}:{line}")))
        .collect();
    assert!(
        unexplained.is_empty(),
        "these `allow` attributes do not say why (a `reason = \"…\"`, or a `//` comment on the same or the previous line):\n  {}",
        unexplained.join("\n  ")
    );
}

#[test]
fn no_top_level_modules_import_each_other() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = crate_dir.parent().unwrap_or(crate_dir);
    let imports = top_level_imports(
        rust_files()
            .into_iter()
            .filter_map(|(path, text)| Some((path.strip_prefix("runtime/src/")?.to_string(), text))),
    );
    let circles = circles(&imports);
    assert!(
        circles.is_empty(),
        "these top-level modules of {} import each other (each list is a circle; move what they share to a leaf):\n  {}",
        workspace.join("runtime/src").display(),
        circles.iter().map(|c| c.join(" -> ")).collect::<Vec<_>>().join("\n  ")
    );
}

/// For each top-level module (`chat` for `chat/*.rs`, `money` for `money.rs`),
/// the other top-level modules its non-test code names as `crate::…`.
fn top_level_imports(
    files: impl Iterator<Item = (String, String)>,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut imports: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
    for (path, text) in files {
        let module = path.split('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
        if matches!(module.as_str(), "lib" | "main" | "tidy" | "proptests") {
            continue;
        }
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let named = imports.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let target: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !target.is_empty() && target != module {
                named.insert(target);
            }
        }
    }
    imports
}

/// The circles among `imports` (strongly connected groups of more than one).
fn circles(imports: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str, to: &str| {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(next) = stack.pop() {
            for target in imports.get(&next).into_iter().flatten() {
                if target == to {
                    return true;
                }
                if seen.insert(target.clone()) {
                    stack.push(target.clone());
                }
            }
        }
        false
    };
    let mut circles: Vec<Vec<String>> = Vec::new();
    for module in imports.keys() {
        if circles.iter().any(|c| c.contains(module)) || !reaches(module, module) {
            continue;
        }
        let circle: Vec<String> = imports
            .keys()
            .filter(|other| *other == module || (reaches(module, other) && reaches(other, module)))
            .cloned()
            .collect();
        circles.push(circle);
    }
    circles
}

#[test]
fn the_rules_read_files_as_intended() {
    let files = [
        ("a.rs", "use crate::b::X;\n"),
        ("b/mod.rs", "use crate::c;\n#[cfg(test)]\nmod tests { use crate::a; }\n"),
        ("c.rs", "fn f() { crate::a::g() }\n"),
        ("d.rs", "use crate::a;\n"),
    ];
    let imports = top_level_imports(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    assert_eq!(circles(&imports), [["a", "b", "c"]]);
    let acyclic = top_level_imports(files[1..].iter().map(|(p, t)| (p.to_string(), t.to_string())));
    assert!(circles(&acyclic).is_empty());

    assert!(opens_with_module_doc("\n\n//! Owns this.\nfn f() {}\n"));
    assert!(!opens_with_module_doc("/// An item's doc.\nfn f() {}\n"));
    assert!(!opens_with_module_doc("use std::io;\n//! Too late.\n"));
    assert!(!opens_with_module_doc(""));

    let allow = |rest: &str| format!("#[{}({rest}", "allow");
    let explained_before = format!("// Generated code.\n{}\nfn f() {{}}\n", allow("dead_code)]"));
    let explained_after = format!("{} // generated code\n", allow("dead_code)]"));
    let with_reason = format!("{}\n    dead_code,\n    reason = \"generated\"\n)]\n", allow(""));
    let doc_is_not_a_reason = format!("/// Does things.\n{}\nfn f() {{}}\n", allow("dead_code)]"));
    let bare = format!("fn f() {{}}\n\n    {}\n", allow("dead_code)]"));
    for explained in [explained_before, explained_after, with_reason] {
        assert!(unexplained_allows(&explained).is_empty(), "{explained}");
    }
    assert_eq!(unexplained_allows(&doc_is_not_a_reason), [2]);
    assert_eq!(unexplained_allows(&bare), [3]);
}

/// True when the first line that is not blank is a `//!` doc.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines().find(|line| !line.trim().is_empty()).is_some_and(|line| line.starts_with("//!"))
}

/// The (1-based) lines of `allow` attributes (outer or inner) that neither
/// give a `reason` nor have a plain `//` comment on the same or the previous
/// line.
fn unexplained_allows(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut unexplained = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        if !(code.starts_with("#[allow(") || code.starts_with("#![allow(")) {
            continue;
        }
        let commented_after = line.contains("//");
        let commented_before = index > 0 && is_plain_comment(lines[index - 1]);
        // The attribute runs to the first line that closes it.
        let end = lines[index..].iter().position(|l| l.contains(")]")).map_or(lines.len(), |n| index + n + 1);
        let has_reason = lines[index..end].iter().any(|l| l.contains("reason"));
        if !(commented_after || commented_before || has_reason) {
            unexplained.push(index + 1);
        }
    }
    unexplained
}

/// A `//` comment that is not a doc comment (a doc says what the item is, not
/// why a lint is allowed).
fn is_plain_comment(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("//") && !line.starts_with("///") && !line.starts_with("//!")
}

/// Every `.rs` file checked, as (path from the workspace root, text), sorted.
fn rust_files() -> Vec<(String, String)> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = crate_dir.parent().unwrap_or(crate_dir);
    let mut paths = Vec::new();
    for folder in CHECKED {
        let folder = workspace.join(folder);
        assert!(folder.is_dir(), "{} is not a folder", folder.display());
        collect_rust_files(&folder, &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let shown = path.strip_prefix(workspace).unwrap_or(path.as_path()).display().to_string();
            (shown, text)
        })
        .collect()
}

fn collect_rust_files(folder: &Path, paths: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(folder).unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display())).path();
        if path.is_dir() {
            collect_rust_files(&path, paths);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            paths.push(path);
        }
    }
}
