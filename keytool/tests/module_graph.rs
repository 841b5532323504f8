//! No import cycles between the modules of keytool (`keytool/src`) and of the C library
//! (`ffi/src`).
//!
//! What counts, precisely:
//!
//! - A node is a module that has a file of its own: `main.rs`/`lib.rs` is the crate root
//!   (`crate`), `a.rs` or `a/mod.rs` is `crate::a`, `a/b.rs` is `crate::a::b`. Inline modules
//!   (`mod tests { ... }`) belong to the file they are written in.
//! - An edge A -> B is a path in A's code (outside comments and string literals) that names B
//!   or an item inside B: `crate::b::...`, `super::...`, `self::...`, or a path starting with
//!   the name of a module A declares (`mod b;` then `b::run()`), including every branch of a
//!   `use` tree (`use crate::{b, c::d};`), and a path starting with a name a `use` brought in
//!   (`use crate::b;` then `b::c::f()` names `crate::b::c`). A path names the deepest node it reaches
//!   (`crate::a::b::f` is an edge to `crate::a::b` when `a/b.rs` exists, else to `crate::a`).
//! - Declaring a module (`mod b;`) is not an edge: containment is not use. A child that uses
//!   its parent's items has an edge to the parent like any other module, so a parent and its
//!   child may not use each other; dependencies follow the tree in one direction only.
//! - An item a module re-exports (`pub use b::f;` in the crate root, then `crate::f` elsewhere)
//!   counts as a path to where it comes from (`crate::b`), not to the re-exporting module.
//! - Edges from a node to itself are ignored.
//!
//! The graph must have no cycle. A failure names one cycle and the files and lines of its edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module, as its path from the crate root (`["cmd", "key"]`; the root is empty).
type ModPath = Vec<String>;

/// The module graph of one crate: each node's edges, with one place (file:line) per edge.
type Graph = BTreeMap<ModPath, BTreeMap<ModPath, String>>;

#[test]
fn keytool_has_no_module_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src, "main.rs");
    assert!(graph.len() > 5, "read too few modules in {}", src.display());
    if let Some(cycle) = find_cycle(&graph) {
        panic!("keytool/src: {}", describe(&graph, &cycle));
    }
}

/// The C ABI's modules form no cycle either.
#[test]
fn ffi_has_no_module_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ffi/src");
    let graph = graph_of(&src, "lib.rs");
    assert!(graph.len() > 1, "read too few modules in {}", src.display());
    if let Some(cycle) = find_cycle(&graph) {
        panic!("ffi/src: {}", describe(&graph, &cycle));
    }
}

/// The checker itself: a cycle through a child and its parent, and one through `use` trees and
/// bare child paths, are found; a tree used in one direction is not a cycle.
#[test]
fn the_checker_finds_cycles() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write("main.rs", "mod a;\nmod b;\nfn main() { a::run(); }\n");
    write("a/mod.rs", "mod child;\npub fn run() { child::go(); }\n");
    write(
        "a/child.rs",
        "// crate::b::x in a comment\npub fn go() { let _ = \"crate::b\"; }\n",
    );
    write("b.rs", "use crate::{a::run as _};\n");
    assert!(find_cycle(&graph_of(dir.path(), "main.rs")).is_none());
    write("a/child.rs", "use super::run;\npub fn go() {}\n");
    let cycle = find_cycle(&graph_of(dir.path(), "main.rs")).expect("child <-> parent");
    assert_eq!(cycle.len(), 2);
    write("a/child.rs", "pub fn go() { crate::b::f(); }\n");
    write("b.rs", "use crate::{a::{child}};\npub fn f() {}\n");
    let cycle = find_cycle(&graph_of(dir.path(), "main.rs")).expect("child -> b -> child");
    assert_eq!(cycle.len(), 2, "{cycle:?}");
    write("b.rs", "use crate::a;\npub fn f() { a::child::go(); }\n");
    let cycle = find_cycle(&graph_of(dir.path(), "main.rs")).expect("through a use alias");
    assert!(cycle.contains(&vec!["b".to_owned()]), "{cycle:?}");
}

/// Reads every module file under `src`, starting at `root_file`, and collects the edges.
fn graph_of(src: &Path, root_file: &str) -> Graph {
    let mut files: BTreeMap<ModPath, PathBuf> = BTreeMap::new();
    collect_files(src, src, root_file, &mut files);
    let nodes: BTreeSet<ModPath> = files.keys().cloned().collect();
    let code: BTreeMap<&ModPath, String> = files
        .iter()
        .map(|(m, f)| {
            (
                m,
                strip(&std::fs::read_to_string(f).expect("read a module file")),
            )
        })
        .collect();
    let reexported: BTreeMap<&ModPath, BTreeMap<String, ModPath>> = code
        .iter()
        .map(|(m, text)| (*m, reexports(m, text)))
        .collect();
    let mut graph = Graph::new();
    for (module, file) in &files {
        let edges = graph.entry(module.clone()).or_default();
        for (line, mut target) in references(module, &code[module]) {
            let mut node = deepest_node(&nodes, &target);
            // An item a module re-exports (`pub use`) is an edge to where it comes from.
            for _ in 0..8 {
                let Some(from) = target
                    .get(node.len())
                    .and_then(|item| reexported.get(&node)?.get(item))
                else {
                    break;
                };
                target = from
                    .iter()
                    .chain(&target[node.len() + 1..])
                    .cloned()
                    .collect();
                node = deepest_node(&nodes, &target);
            }
            if &node != module {
                edges
                    .entry(node)
                    .or_insert_with(|| format!("{}:{line}", file.display()));
            }
        }
    }
    graph
}

/// The items `code` (the module `module`) re-exports with `pub use` or `pub(...) use`, each
/// with the path it names.
fn reexports(module: &ModPath, code: &str) -> BTreeMap<String, ModPath> {
    let toks = tokens(code);
    let declared = declared_modules(&toks);
    let mut out = BTreeMap::new();
    for (i, (_, t)) in toks.iter().enumerate() {
        let public = i > 0
            && (toks[i - 1].1 == "pub"
                || (toks[i - 1].1 == ")" && i >= 4 && toks[i - 4].1 == "pub"));
        if t != "use" || !public {
            continue;
        }
        let end = (i..toks.len())
            .find(|&k| toks[k].1 == ";")
            .unwrap_or(toks.len());
        for path in use_paths(&toks[i + 1..end]) {
            if let (Some(item), Some(target)) =
                (path.last(), resolve(module, &declared, true, &path))
            {
                out.insert(item.clone(), target);
            }
        }
    }
    out
}

/// The modules a file declares (`mod x;` or `mod x { ... }`).
fn declared_modules(toks: &[(usize, String)]) -> BTreeSet<String> {
    toks.windows(3)
        .filter(|w| w[0].1 == "mod" && matches!(w[2].1.as_str(), ";" | "{"))
        .map(|w| w[1].1.clone())
        .collect()
}

/// Every `.rs` file under `dir` as a module path.
fn collect_files(src: &Path, dir: &Path, root_file: &str, out: &mut BTreeMap<ModPath, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read a source directory")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(src, &path, root_file, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).expect("under src");
        let mut module: ModPath = relative
            .iter()
            .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        if module.last().is_some_and(|l| l == "mod") || relative == Path::new(root_file) {
            module.pop();
        }
        out.insert(module, path);
    }
}

/// The longest prefix of `target` that is a node (the root only when `target` is the root).
fn deepest_node(nodes: &BTreeSet<ModPath>, target: &[String]) -> ModPath {
    // An item of the crate root (`crate::f`) is an edge to the root.
    (0..=target.len())
        .rev()
        .map(|n| target[..n].to_vec())
        .find(|p| p.is_empty() || nodes.contains(p))
        .unwrap_or_default()
}

/// `text` with comments, string and character literals blanked (line breaks kept).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('#' | '"'))
            && !ident_char(b.get(i.wrapping_sub(1)))
        {
            // A raw string: r"...", r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for k in &b[i..j.min(b.len())] {
                out.push(blank(*k));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && next.is_some() {
            // A character literal ('a', '\n', '\''), not a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 3..b.len()).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    for k in &b[i..=e] {
                        out.push(blank(*k));
                    }
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// Tokens of stripped code: identifiers, `::`, and single punctuation characters, with lines.
fn tokens(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_alphanumeric() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((n + 1, chars[start..i].iter().collect()));
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push((n + 1, "::".to_owned()));
                i += 2;
            } else {
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
                i += 1;
            }
        }
    }
    out
}

/// The module paths that `code` (the module `module`'s file) names, each with its line.
fn references(module: &ModPath, code: &str) -> Vec<(usize, ModPath)> {
    let toks = tokens(code);
    // Modules declared in this file (`mod x;` or `mod x {`), and the inline module each token
    // is in (for `super` inside `mod tests { ... }`).
    let declared = declared_modules(&toks);
    // Names brought in by `use` (`use crate::render;` then `render::rotate::f()`), each with the
    // module path it stands for.
    let mut aliases: BTreeMap<String, ModPath> = BTreeMap::new();
    for (i, _) in toks.iter().enumerate().filter(|(_, t)| t.1 == "use") {
        let end = (i..toks.len())
            .find(|&k| toks[k].1 == ";")
            .unwrap_or(toks.len());
        for path in use_paths(&toks[i + 1..end]) {
            if let (Some(last), Some(target)) =
                (path.last(), resolve(module, &declared, true, &path))
            {
                aliases.insert(last.clone(), target);
            }
        }
    }
    let mut out = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let (line, t) = (&toks[i].0, toks[i].1.as_str());
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if toks.get(i + 2).is_some_and(|t| t.1 == "{") => {
                inline.push((toks[i + 1].1.clone(), depth));
                depth += 1;
                i += 3;
                continue;
            }
            _ => {}
        }
        let here: ModPath = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(m, _)| m.clone()))
            .collect();
        let preceded_by_path = i > 0 && toks[i - 1].1 == "::";
        if t == "use" {
            let end = (i..toks.len())
                .find(|&k| toks[k].1 == ";")
                .unwrap_or(toks.len());
            for path in use_paths(&toks[i + 1..end]) {
                if let Some(target) = resolve(&here, &declared, inline.is_empty(), &path) {
                    out.push((*line, target));
                }
            }
            i = end + 1;
            continue;
        }
        if !preceded_by_path
            && (matches!(t, "crate" | "super" | "self") || declared.contains(t))
            && toks.get(i + 1).is_some_and(|n| n.1 == "::")
        {
            let mut path = vec![t.to_owned()];
            let mut k = i + 1;
            while toks.get(k).is_some_and(|n| n.1 == "::")
                && toks.get(k + 1).is_some_and(|n| ident_token(&n.1))
            {
                path.push(toks[k + 1].1.clone());
                k += 2;
            }
            if let Some(target) = resolve(&here, &declared, inline.is_empty(), &path) {
                out.push((*line, target));
            }
            i = k;
            continue;
        }
        if !preceded_by_path
            && let Some(base) = aliases.get(t)
            && toks.get(i + 1).is_some_and(|n| n.1 == "::")
        {
            let mut target = base.clone();
            let mut k = i + 1;
            while toks.get(k).is_some_and(|n| n.1 == "::")
                && toks.get(k + 1).is_some_and(|n| ident_token(&n.1))
            {
                target.push(toks[k + 1].1.clone());
                k += 2;
            }
            out.push((*line, target));
            i = k;
            continue;
        }
        i += 1;
    }
    out
}

fn ident_token(t: &str) -> bool {
    t.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The paths of a `use` tree (`a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`; `self`
/// inside braces is the prefix; `as` renames are dropped).
fn use_paths(toks: &[(usize, String)]) -> Vec<Vec<String>> {
    fn tree(
        toks: &[(usize, String)],
        i: &mut usize,
        prefix: &[String],
        out: &mut Vec<Vec<String>>,
    ) {
        let mut path = prefix.to_vec();
        // An empty branch (`{a, b,}` ends with one) names nothing; `self` names the prefix.
        let mut names = false;
        while *i < toks.len() {
            let t = toks[*i].1.as_str();
            match t {
                "{" => {
                    *i += 1;
                    loop {
                        tree(toks, i, &path, out);
                        match toks.get(*i).map(|t| t.1.as_str()) {
                            Some(",") => *i += 1,
                            Some("}") => {
                                *i += 1;
                                break;
                            }
                            _ => break,
                        }
                    }
                    return;
                }
                "," | "}" => break,
                "::" => *i += 1,
                "as" => *i += 2,
                "self" if path.len() == prefix.len() && !prefix.is_empty() => {
                    names = true;
                    *i += 1;
                }
                "*" => {
                    names = true;
                    *i += 1;
                }
                _ => {
                    path.push(t.to_owned());
                    names = true;
                    *i += 1;
                }
            }
        }
        if names {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    // `pub(crate) use`: the visibility comes before `use`, so it is not in these tokens.
    tree(toks, &mut i, &[], &mut out);
    out
}

/// The module a path starting in `here` names (absolute), or `None` for another crate.
fn resolve(
    here: &ModPath,
    declared: &BTreeSet<String>,
    at_file_level: bool,
    path: &[String],
) -> Option<ModPath> {
    let first = path.first()?;
    let mut base: ModPath;
    let rest: &[String];
    match first.as_str() {
        "crate" => {
            base = Vec::new();
            rest = &path[1..];
        }
        "self" | "super" => {
            base = here.clone();
            let mut k = 0;
            while path.get(k).is_some_and(|s| s == "super" || s == "self") {
                if path[k] == "super" {
                    base.pop()?;
                }
                k += 1;
            }
            rest = &path[k..];
        }
        name if at_file_level && declared.contains(name) => {
            base = here.clone();
            rest = path;
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// One cycle of the graph, as its nodes in order, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<ModPath>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    fn visit(
        node: &ModPath,
        graph: &Graph,
        state: &mut BTreeMap<ModPath, State>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        match state.get(node) {
            Some(State::Done) => return None,
            Some(State::Open) => {
                let start = stack.iter().position(|n| n == node)?;
                return Some(stack[start..].to_vec());
            }
            None => {}
        }
        state.insert(node.clone(), State::Open);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(cycle) = visit(next, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node.clone(), State::Done);
        None
    }
    let mut state = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut state, &mut Vec::new()))
}

fn name(module: &ModPath) -> String {
    std::iter::once("crate".to_owned())
        .chain(module.iter().cloned())
        .collect::<Vec<_>>()
        .join("::")
}

fn describe(graph: &Graph, cycle: &[ModPath]) -> String {
    let mut text = format!(
        "module cycle {} -> {}",
        cycle.iter().map(name).collect::<Vec<_>>().join(" -> "),
        name(&cycle[0])
    );
    for (i, from) in cycle.iter().enumerate() {
        let to = &cycle[(i + 1) % cycle.len()];
        text.push_str(&format!(
            "\n  {} -> {} at {}",
            name(from),
            name(to),
            graph[from][to]
        ));
    }
    text
}
