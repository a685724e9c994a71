use recode_data::*;
#[test]
#[ignore]
fn calibrate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<_> = std::fs::read_dir(root.join("data/train")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.push(root.join("data/sample.jsonl"));
    let mut items: Vec<(String, usize, Item)> = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, l) in text.lines().enumerate() {
            if let Ok(it) = serde_json::from_str::<Item>(l) { items.push((f.file_name().unwrap().to_string_lossy().into(), i + 1, it)); }
        }
    }
    let n = items.len();
    let codes: Vec<Vec<char>> = items.iter().map(|x| normalize_code(&x.2.old_code)).collect();
    let ups: Vec<Vec<char>> = items.iter().map(|x| x.2.update_info.trim().chars().collect()).collect();
    let mut out = String::new();
    for i in 0..n { for j in 0..n { if i == j || items[i].2.dependency != items[j].2.dependency { continue; }
        let u = edit_similarity(&ups[i], &ups[j]);
        let c = edit_similarity(&codes[i], &codes[j]);
        let sv = items[i].2.new_version == items[j].2.new_version;
        out.push_str(&format!("{i}\t{j}\t{u:.4}\t{c:.4}\t{sv}\t{}:{}\t{}:{}\t{}\t{}\n", items[i].0, items[i].1, items[j].0, items[j].1, items[i].2.id.clone().unwrap_or_default(), items[j].2.id.clone().unwrap_or_default()));
    }}
    std::fs::write("/tmp/calib/pairs.tsv", out).unwrap();
}
