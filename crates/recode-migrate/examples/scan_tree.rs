//! Detection speed: the scan half of `recode migrate` (what `recode migrate --list` runs) over
//! a tree, without a model.
//!
//! `cargo run --release -p recode-migrate --example scan_tree -- LIBRARY UPDATE_FILE PATHS…`
//! (`UPDATE_FILE` in the update-file format; `-` for none: every file mentioning the library's
//! root is parsed but no name is affected).
use std::path::PathBuf;
use std::time::Instant;

use recode_migrate::{AffectedNames, Library, Settings, Update, discover, prepare_all};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: scan_tree LIBRARY UPDATE_FILE|- PATHS…");
        std::process::exit(2);
    }
    let library = Library::resolve(&args[0]).unwrap_or_else(|e| panic!("{e}"));
    let names = if args[1] == "-" {
        AffectedNames::default()
    } else {
        let text = std::fs::read_to_string(&args[1]).expect("update file");
        let update = Update::parse_file(&args[1], &text).unwrap_or_else(|e| panic!("{e}"));
        update.affected_names(&library, &args[1]).unwrap_or_else(|e| panic!("{e}"))
    };
    let paths: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
    let settings = Settings::new(library, "0", "", names);
    let started = Instant::now();
    let (found, path_errors) = discover(&paths);
    let listed = started.elapsed();
    let prepared = prepare_all(&found, &settings);
    let total = started.elapsed();
    let ok: Vec<_> = prepared.iter().filter_map(|p| p.as_ref().ok()).collect();
    let parsed = ok.iter().filter(|p| p.scan.parsed).count();
    let units: usize = ok.iter().map(|p| p.scan.units.len()).sum();
    let with_units = ok.iter().filter(|p| !p.scan.units.is_empty()).count();
    let errors = prepared.len() - ok.len() + path_errors.len();
    let bytes: u64 = found.iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum();
    println!(
        "{} files ({:.1} MB), {parsed} parsed, {units} units in {with_units} files, {errors} errors; \
         walk {:.2} s, total {:.2} s, {} threads",
        found.len(),
        bytes as f64 / 1e6,
        listed.as_secs_f64(),
        total.as_secs_f64(),
        rayon::current_num_threads()
    );
}
