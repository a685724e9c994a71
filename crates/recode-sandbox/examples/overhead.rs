//! Spawn-to-exit time of `python3 -c pass` (a file containing `pass` in the sandbox): plain
//! `std::process::Command` against the sandbox with and without a network namespace.
//!
//! `cargo run --release -p recode-sandbox --example overhead [N] [PYTHON]`
use std::time::{Duration, Instant};

use recode_sandbox::{NetworkPolicy, RunSpec, Sandbox};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(30, |s| s.parse().expect("N"));
    let python = args.next().unwrap_or_else(|| "python3".to_string());
    let isolated = Sandbox::new();
    let allowed = Sandbox::new().with_network(NetworkPolicy::Allow);
    let spec = RunSpec::new(&python, "pass");
    let (mut plain, mut netns, mut nonet) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        let status = std::process::Command::new(&python).args(["-c", "pass"]).status().expect("spawn");
        assert!(status.success());
        plain.push(t.elapsed());
        let t = Instant::now();
        let out = isolated.run(&spec).expect("sandbox");
        assert!(out.success());
        netns.push(t.elapsed());
        let t = Instant::now();
        assert!(allowed.run(&spec).expect("sandbox").success());
        nonet.push(t.elapsed());
    }
    println!("{n} runs each, median spawn-to-exit including setup and cleanup:");
    println!("  plain Command:                 {:?}", median(plain));
    println!("  sandbox, network namespace:    {:?}", median(netns));
    println!("  sandbox, network allowed:      {:?}", median(nonet));
}
