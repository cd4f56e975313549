//! Embeds every catalogue in catalogues/ into the binary, so adding a
//! framework is adding a data file, and the binary runs from any directory.
use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=catalogues");
    let mut files: Vec<_> = std::fs::read_dir("catalogues")
        .expect("the catalogues/ folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("/// Every catalogue file, as (file name, contents).\npub const CATALOGUES: &[(&str, &str)] = &[\n");
    for path in files {
        let abs = std::fs::canonicalize(&path).expect("catalogue path");
        let name = path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name");
        writeln!(out, "    ({name:?}, include_str!({:?})),", abs.display().to_string()).expect("write");
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("catalogues.rs");
    std::fs::write(dest, out).expect("write catalogues.rs");
}
