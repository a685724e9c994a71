//! The sandbox run against the system `python3`.
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use recode_sandbox::{ErrorClass, ExitStatus, Limits, NetworkPolicy, RunOutput, RunSpec, Sandbox, SandboxError};

/// The real interpreter behind `python3` (not a shim script such as pyenv's).
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 on PATH");
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
        .clone()
}

fn limits(wall: Duration) -> Limits {
    Limits { wall, ..Limits::default() }
}

fn run(source: &str) -> RunOutput {
    Sandbox::new().run(&RunSpec::new(python(), source)).expect("run")
}

fn run_with(limits: Limits, source: &str) -> RunOutput {
    Sandbox::new().with_limits(limits).run(&RunSpec::new(python(), source)).expect("run")
}

/// True once `pid` is gone (or a zombie waiting for its new parent to reap it).
fn process_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        // SAFETY: signal 0 only checks for existence.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
            .unwrap_or(false);
        if !alive || zombie {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn normal_run_and_private_directory() {
    let out = run("import os, sys\n\
         print('hello', sys.argv[1:])\n\
         print(os.getcwd())\n\
         print(os.environ['TMPDIR'])\n\
         open('scratch.txt', 'w').write('x')\n\
         os.makedirs('sub/deeper')\n\
         os.chmod('sub', 0o500)\n\
         print('err', file=sys.stderr)\n");
    assert!(out.success(), "{out:?}");
    assert_eq!(out.error_class(), ErrorClass::Ok);
    assert_eq!(out.error_line(), None);
    let text = out.stdout.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "hello []");
    let dir = PathBuf::from(lines[1]);
    assert_eq!(lines[2], lines[1], "TMPDIR is the private directory");
    assert!(dir.file_name().unwrap().to_str().unwrap().starts_with("recode-sandbox-"));
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert_eq!(out.stderr.text(), "err\n");
    assert!(!out.stdout.truncated && !out.stderr.truncated);
    assert!(!out.timed_out);
    assert_eq!(out.cleanup_error, None);
    assert!(out.cpu.is_some());
    assert!(out.wall < Duration::from_secs(10));
}

#[test]
fn args_env_stdin_and_files() {
    let spec = RunSpec::new(
        python(),
        "import os, sys\n\
         print(sys.argv[1:], os.environ.get('RECODE_X'), 'CARGO_MANIFEST_DIR' in os.environ)\n\
         print(sys.stdin.read())\n\
         print(open('data/input.txt').read())\n\
         print(sys.flags.dont_write_bytecode)\n",
    )
    .flag("-B")
    .arg("a")
    .arg("b c")
    .env("RECODE_X", "42")
    .stdin("from stdin")
    .file("data/input.txt", "from file");
    // Cargo sets this for the test process; the sandbox's base environment drops it.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let out = Sandbox::new().run(&spec).unwrap();
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout.text(), "['a', 'b c'] 42 False\nfrom stdin\nfrom file\n1\n");
}

#[test]
fn exception_classification() {
    let cases = [
        ("import math\nmath.nope\n", "AttributeError", "AttributeError: module 'math' has no attribute 'nope'"),
        ("import not_a_module_xyz\n", "ModuleNotFoundError", "ModuleNotFoundError: No module named 'not_a_module_xyz'"),
        ("x = 1\nassert x == 2, 'x is 1'\n", "AssertionError", "AssertionError: x is 1"),
        ("def f(:\n  pass\n", "SyntaxError", "SyntaxError: invalid syntax"),
        ("raise MemoryError\n", "MemoryError", "MemoryError"),
        ("class Boom(Exception): pass\nraise Boom('b')\n", "Boom", "Boom: b"),
    ];
    for (source, class, line) in cases {
        let out = run(source);
        assert_eq!(out.exit_code(), Some(1), "{source}: {out:?}");
        assert_eq!(out.error_class(), ErrorClass::Exception(class.to_string()), "{source}");
        assert_eq!(out.error_line().as_deref(), Some(line), "{source}");
    }
    let out = run("import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)\n");
    assert_eq!(out.error_class(), ErrorClass::Exit(3));
    assert_eq!(out.error_line().as_deref(), Some("bye"));
    let out = run("import os\nos._exit(0)\n");
    assert!(out.success());
    // A warning turned into an error by interpreter flags.
    let spec = RunSpec::new(python(), "import warnings\nwarnings.warn('old', DeprecationWarning)\n")
        .flag("-W")
        .flag("error::DeprecationWarning");
    let out = Sandbox::new().run(&spec).unwrap();
    assert_eq!(out.error_class(), ErrorClass::Exception("DeprecationWarning".to_string()));
    assert_eq!(out.error_line().as_deref(), Some("DeprecationWarning: old"));
}

#[test]
fn timeout_kills_the_whole_group() {
    let start = Instant::now();
    let out = run_with(
        limits(Duration::from_millis(1500)),
        "import subprocess, sys\n\
         p = subprocess.Popen(['sleep', '100'])\n\
         print(p.pid, flush=True)\n\
         while True:\n    pass\n",
    );
    let elapsed = start.elapsed();
    assert!(out.timed_out, "{out:?}");
    assert_eq!(out.error_class(), ErrorClass::Timeout);
    assert_eq!(out.status, ExitStatus::Signaled(libc::SIGKILL));
    assert!(out.wall >= Duration::from_millis(1500), "{:?}", out.wall);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let pid: i32 = out.stdout.text().trim().parse().expect("child pid");
    assert!(process_gone(pid), "sleep {pid} survived the timeout");
    assert_eq!(out.escaped, None);
}

#[test]
fn background_children_are_killed_after_a_normal_exit() {
    let out = run("import subprocess\n\
         p = subprocess.Popen(['sleep', '100'])\n\
         print(p.pid)\n");
    assert!(out.success(), "{out:?}");
    let pid: i32 = out.stdout.text().trim().parse().unwrap();
    assert!(process_gone(pid), "sleep {pid} outlived its run");
}

#[test]
fn output_is_capped_without_deadlock() {
    let start = Instant::now();
    let out = run("import sys\n\
         sys.stdout.write('x' * 50_000_000)\n\
         sys.stdout.flush()\n\
         sys.stderr.write('e' * 1_000_000)\n\
         raise ValueError('at the end')\n");
    assert_eq!(out.stdout.total_bytes, 50_000_000);
    assert!(out.stdout.truncated);
    assert!(out.stdout.bytes.len() <= 64 * 1024 + 64, "{}", out.stdout.bytes.len());
    assert!(out.stderr.truncated);
    // The tail of stderr is kept, so the traceback's last line is still there.
    assert_eq!(out.error_class(), ErrorClass::Exception("ValueError".to_string()));
    assert_eq!(out.error_line().as_deref(), Some("ValueError: at the end"));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn network_is_isolated_or_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = run(&format!(
        "import socket\n\
         s = socket.create_connection(('127.0.0.1', {port}), timeout=3)\n\
         print('connected')\n"
    ));
    eprintln!("network isolated: {} ({:?})", out.network_isolated, out.network_note);
    if out.network_isolated {
        assert!(!out.success(), "connected despite isolation: {out:?}");
        let class = out.error_class().to_string();
        assert!(["ConnectionRefusedError", "OSError", "TimeoutError"].contains(&class.as_str()), "{class}: {out:?}");
    } else {
        assert!(out.network_note.is_some(), "no reason given: {out:?}");
    }
    // As root the namespace can always be created.
    if unsafe { libc::geteuid() } == 0 {
        assert!(out.network_isolated, "{:?}", out.network_note);
    }
    // Loopback inside the namespace works (a server and client in the same program).
    let out = run("import socket\n\
         srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()\n\
         c = socket.create_connection(srv.getsockname(), timeout=3)\n\
         print('ok')\n");
    assert!(out.success(), "{out:?}");
    // Allow: the host network is reachable.
    let out = Sandbox::new()
        .with_network(NetworkPolicy::Allow)
        .run(&RunSpec::new(
            python(),
            format!("import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)\n"),
        ))
        .unwrap();
    assert!(out.success(), "{out:?}");
    assert!(!out.network_isolated);
    drop(listener);
}

#[test]
fn chdir_does_not_matter() {
    let before = std::env::current_dir().unwrap();
    let out = run("import os\n\
         print(os.getcwd(), flush=True)\n\
         open('here.txt', 'w').write('x')\n\
         os.chdir('/')\n\
         print(os.getcwd())\n");
    assert!(out.success(), "{out:?}");
    let text = out.stdout.text();
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next().unwrap());
    assert_eq!(lines.next(), Some("/"));
    assert!(!dir.exists());
    assert_eq!(std::env::current_dir().unwrap(), before);
}

#[test]
fn memory_limit_raises_memory_error() {
    let out = run("x = bytearray(20 * 1024 ** 3)\nprint(len(x))\n");
    assert_eq!(out.error_class(), ErrorClass::Exception("MemoryError".to_string()), "{out:?}");
}

#[test]
fn file_size_and_cpu_limits() {
    let out = run_with(
        Limits { file_size: Some(1 << 20), ..Limits::default() },
        "open('big', 'wb').write(b'x' * (2 << 20))\n",
    );
    assert_eq!(out.error_class(), ErrorClass::Exception("OSError".into()), "{out:?}");
    assert!(out.error_line().unwrap().contains("File too large"), "{out:?}");

    let out = run_with(
        Limits { cpu: Some(Duration::from_secs(1)), wall: Duration::from_secs(20), ..Limits::default() },
        "while True:\n    pass\n",
    );
    assert!(!out.timed_out);
    assert_eq!(out.error_class(), ErrorClass::Killed(libc::SIGXCPU), "{out:?}");
    assert_eq!(out.error_class().to_string(), "Killed(SIGXCPU)");
}

#[test]
fn spawn_errors_are_precise() {
    let err = Sandbox::new().run(&RunSpec::new("/nonexistent/bin/python", "pass")).unwrap_err();
    assert!(matches!(err, SandboxError::InterpreterNotFound { .. }));
    assert_eq!(err.to_string(), "interpreter not found: /nonexistent/bin/python (no such file)");
    let err = Sandbox::new().run(&RunSpec::new("no-such-interpreter-xyz", "pass")).unwrap_err();
    assert_eq!(err.to_string(), "interpreter not found: no-such-interpreter-xyz (not found in PATH)");
    let err = Sandbox::new().run(&RunSpec::new(python(), "pass").file("../escape.txt", "x")).unwrap_err();
    assert!(matches!(err, SandboxError::InvalidSpec(_)), "{err}");
    let err = Sandbox::new().with_temp_root("/nonexistent-root").run(&RunSpec::new(python(), "pass")).unwrap_err();
    assert!(err.to_string().starts_with("cannot create a temporary working directory in /nonexistent-root: "), "{err}");
}

#[test]
fn many_runs_in_order_with_progress() {
    let specs: Vec<RunSpec> = (0..6).map(|i| RunSpec::new(python(), format!("print({i} * {i})"))).collect();
    let mut calls = 0;
    let results = Sandbox::new().run_many(&specs, 3, |p, _, r| {
        calls += 1;
        assert_eq!(p.total, 6);
        assert!(r.is_ok());
    });
    assert_eq!(calls, 6);
    let outs: Vec<String> = results.into_iter().map(|r| r.unwrap().stdout.text().trim().to_string()).collect();
    assert_eq!(outs, ["0", "1", "4", "9", "16", "25"]);
}

/// Spawn-to-exit cost of the sandbox against a plain `Command`, printed (run with
/// `--nocapture` to see it).
#[test]
fn overhead_against_plain_spawn() {
    let n = 10;
    let sandbox = Sandbox::new();
    let spec = RunSpec::new(python(), "pass");
    sandbox.run(&spec).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        assert!(sandbox.run(&spec).unwrap().success());
    }
    let sandboxed = start.elapsed() / n;
    let start = Instant::now();
    for _ in 0..n {
        let status = std::process::Command::new(python()).args(["-c", "pass"]).status().unwrap();
        assert!(status.success());
    }
    let plain = start.elapsed() / n;
    eprintln!("python3 -c pass: sandboxed {sandboxed:?} per run, plain {plain:?} per run");
}
