//! The fork server against the system `python3`: what each program gets, and hostile
//! programs (each must fail with the right class and leave no process or file behind).
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use recode_sandbox::{
    ErrorClass, Executor, ForkServer, ForkServerConfig, Limits, NetworkPolicy, RunOutput, RunSpec, Sandbox,
};

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

/// A private temporary root per test, so that "no file left" can be checked exactly.
struct Root(tempfile::TempDir);

impl Root {
    fn new() -> Root {
        Root(tempfile::Builder::new().prefix("recode-fs-test-").tempdir().unwrap())
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
    fn assert_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

fn server(root: &Root, limits: Limits) -> ForkServer {
    let sandbox = Sandbox::new().with_limits(limits).with_temp_root(root.path());
    ForkServer::start(sandbox, ForkServerConfig::new(python()).preload("json").preload("no_such_module_xyz"))
        .expect("fork server starts")
}

fn limits(wall_ms: u64) -> Limits {
    Limits { wall: Duration::from_millis(wall_ms), processes: Some(64), ..Limits::default() }
}

/// All processes (pid, pgid, comm) now, from /proc.
fn processes() -> HashSet<(i32, i32)> {
    let mut out = HashSet::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let rest = stat.rsplit(')').next().unwrap_or("");
            let fields: Vec<&str> = rest.split_whitespace().collect();
            if fields.len() > 3 && fields[0] != "Z" {
                out.insert((pid, fields[3].parse().unwrap_or(0)));
            }
        }
    }
    out
}

/// Whether any live process carries `marker` in its command line or environment.
fn marked_processes(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z');
        let has = |b: &[u8]| b.windows(marker.len()).any(|w| w == marker.as_bytes());
        if !zombie && (has(&cmdline) || has(&environ)) {
            out.push(pid);
        }
    }
    out
}

fn assert_no_marked(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = marked_processes(marker);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(server: &ForkServer, source: &str, marker: &str) -> RunOutput {
    let spec = RunSpec::new(python(), source).env("RECODE_TEST_MARKER", marker);
    let out = server.run(&spec).expect("run");
    assert_eq!(out.cleanup_error, None);
    out
}

#[test]
fn ordinary_program() {
    let root = Root::new();
    let server = server(&root, limits(10_000));
    assert_eq!(server.info().preloaded["json"], "2.0.9");
    assert!(server.info().preloaded["no_such_module_xyz"].starts_with("error: ModuleNotFoundError"));
    let spec = RunSpec::new(
        python(),
        "import os, sys, json\nprint(sys.argv[1:], os.environ['X'], os.getcwd() == os.environ['TMPDIR'])\n\
         print(sys.stdin.read())\nprint(open('data/in.txt').read())\nprint(__name__, 'json' in sys.modules)\n\
         print(os.getpid(), os.getppid())\nimport warnings\nwarnings.warn('w', UserWarning)\n",
    )
    .arg("a")
    .env("X", "42")
    .stdin("from stdin")
    .file("data/in.txt", "from file");
    let out = server.run(&spec).unwrap();
    assert!(out.success(), "{out:?}");
    assert_eq!(
        out.stdout.text(),
        "['a'] 42 True\nfrom stdin\nfrom file\n__main__ True\n1 0\n",
        "pid 1 of its own namespace; {:?}",
        out.notes
    );
    assert!(out.stderr.text().contains("UserWarning: w"), "{}", out.stderr.text());
    assert!(out.network_isolated, "{:?}", out.notes);
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    assert!(out.cpu.is_some());
    root.assert_empty();
}

#[test]
fn error_classes_match_the_plain_mode() {
    let root = Root::new();
    let server = server(&root, limits(10_000));
    let plain = Sandbox::new().with_temp_root(root.path());
    let cases = [
        ("import math\nmath.nope\n", ErrorClass::Exception("AttributeError".into())),
        ("assert 1 == 2, 'no'\n", ErrorClass::Exception("AssertionError".into())),
        ("def f(:\n  pass\n", ErrorClass::Exception("SyntaxError".into())),
        ("import sys\nsys.exit(3)\n", ErrorClass::Exit(3)),
        ("import sys\nsys.exit('bye')\n", ErrorClass::Exit(1)),
        ("import os\nos._exit(7)\n", ErrorClass::Exit(7)),
        ("import os\nos._exit(0)\n", ErrorClass::Ok),
        ("raise SystemExit\n", ErrorClass::Ok),
        ("import numpy_nope\n", ErrorClass::Exception("ModuleNotFoundError".into())),
    ];
    for (source, class) in cases {
        let fork = run(&server, source, "x");
        let one = plain.run(&RunSpec::new(python(), source)).unwrap();
        assert_eq!(fork.error_class(), class, "{source}: {fork:?}");
        assert_eq!(one.error_class(), class, "{source} (plain)");
        assert_eq!(fork.error_line(), one.error_line(), "{source}");
    }
    // Warnings as errors through -W.
    let spec = RunSpec::new(python(), "import warnings\nwarnings.warn('old', DeprecationWarning)\n")
        .flag("-W")
        .flag("error::DeprecationWarning");
    assert_eq!(server.run(&spec).unwrap().error_class(), ErrorClass::Exception("DeprecationWarning".into()));
    // Unsupported flags and another interpreter are refused.
    assert!(server.run(&RunSpec::new(python(), "pass").flag("-O")).is_err());
    assert!(server.run(&RunSpec::new("/bin/sh", "true")).is_err());
    root.assert_empty();
}

/// Every hostile program: a failure with the expected class, the server keeps serving, and no
/// process or file is left.
#[test]
fn hostile_programs() {
    let root = Root::new();
    let server = server(&root, Limits { address_space: Some(2 << 30), ..limits(3_000) });
    let outside = root.path().join("outside.txt");
    let cases: Vec<(&str, String, fn(&ErrorClass) -> bool)> = vec![
        ("loop forever", "while True:\n    pass\n".into(), |c| *c == ErrorClass::Timeout),
        (
            "fork bomb",
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n".into(),
            |c| *c == ErrorClass::Timeout,
        ),
        (
            "allocate 20 GB",
            "x = bytearray(20 * 1024**3)\n".into(),
            |c| *c == ErrorClass::Exception("MemoryError".into()),
        ),
        (
            "print gigabytes",
            "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(4096):\n    sys.stdout.write(chunk)\nraise ValueError('end')\n"
                .into(),
            |c| *c == ErrorClass::Exception("ValueError".into()) || *c == ErrorClass::Timeout,
        ),
        (
            "write outside its directory",
            format!("open({:?}, 'w').write('x')\n", outside.display().to_string()),
            |c| *c == ErrorClass::Exception("OSError".into()),
        ),
        (
            "open a network socket",
            "import socket\ns = socket.create_connection(('1.1.1.1', 80), timeout=2)\n".into(),
            |c| *c == ErrorClass::Exception("OSError".into()) || *c == ErrorClass::Exception("TimeoutError".into()),
        ),
        (
            "kill its parent",
            "import os, signal\ndef solve():\n    os.kill(os.getppid(), signal.SIGKILL)\n\nassert solve() == 42\n".into(),
            |c| *c == ErrorClass::Exception("AssertionError".into()),
        ),
        (
            "kill every process it can see",
            "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\nraise RuntimeError('after kill -1')\n".into(),
            |c| *c == ErrorClass::Exception("RuntimeError".into()),
        ),
        (
            "change the working directory",
            "import os\nos.chdir('/')\nassert False, 'after chdir'\n".into(),
            |c| *c == ErrorClass::Exception("AssertionError".into()),
        ),
        ("call os._exit", "import os\nos._exit(3)\n".into(), |c| *c == ErrorClass::Exit(3)),
        (
            "escape the group and linger",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nraise RuntimeError('parent')\n".into(),
            |c| *c == ErrorClass::Exception("RuntimeError".into()),
        ),
    ];
    let before = processes();
    for (i, (name, source, expect)) in cases.iter().enumerate() {
        let marker = format!("recode-hostile-{}-{i}", std::process::id());
        let start = Instant::now();
        let out = run(&server, source, &marker);
        let class = out.error_class();
        assert!(expect(&class), "{name}: got {class}: {out:?}");
        assert!(!out.success(), "{name}");
        assert!(start.elapsed() < Duration::from_secs(8), "{name}: {:?}", start.elapsed());
        assert_no_marked(&marker);
        root.assert_empty();
        assert!(!outside.exists(), "{name}: wrote outside its directory");
        eprintln!("{name}: {class} in {:?}; notes {:?}", out.wall, out.notes);
    }
    // The server still works.
    assert!(run(&server, "print('ok')\n", "after").success());
    drop(server);
    // Nothing new survives the server itself.
    std::thread::sleep(Duration::from_millis(200));
    let after = processes();
    let new: Vec<_> =
        after.difference(&before).filter(|(pid, _)| marked_processes("recode-hostile").contains(pid)).collect();
    assert!(new.is_empty(), "{new:?}");
    // No pids cgroup of a server that is gone.
    let stale: Vec<String> = std::fs::read_dir("/sys/fs/cgroup/pids")
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            n.strip_prefix("recode-sandbox-")
                .and_then(|rest| rest.split('-').next())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        })
        .collect();
    assert!(stale.is_empty(), "cgroups left behind: {stale:?}");
    root.assert_empty();
}

#[test]
fn concurrent_runs_share_the_pool() {
    let root = Root::new();
    let server = server(&root, limits(10_000));
    let specs: Vec<RunSpec> =
        (0..12).map(|i| RunSpec::new(python(), format!("import time\ntime.sleep(0.05)\nprint({i})\n"))).collect();
    let outs = recode_sandbox::map_ordered(&specs, 3, |_, s| Executor::run(&server, s).unwrap(), |_, _, _| {});
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.stdout.text().trim(), i.to_string());
    }
    assert!(Executor::describe(&server).starts_with("fork server"));
    root.assert_empty();
}

#[test]
fn network_policy_allow_skips_the_namespace() {
    let root = Root::new();
    let sandbox =
        Sandbox::new().with_limits(limits(10_000)).with_temp_root(root.path()).with_network(NetworkPolicy::Allow);
    let server = ForkServer::start(sandbox, ForkServerConfig::new(python())).unwrap();
    let out = server.run(&RunSpec::new(python(), "print(1)")).unwrap();
    assert!(out.success());
    assert!(!out.network_isolated);
    root.assert_empty();
}

/// A server killed by SIGKILL leaves its empty pids cgroup behind; the next server removes the
/// groups of servers that no longer exist.
#[test]
fn a_new_server_removes_the_cgroups_of_dead_servers() {
    let pids = Path::new("/sys/fs/cgroup/pids");
    if std::fs::metadata(pids).map(|m| m.permissions().readonly()).unwrap_or(true) || !pids.is_dir() {
        eprintln!("skipped: no writable v1 pids hierarchy");
        return;
    }
    let dead = (1_000_000..4_000_000).rev().find(|p| !Path::new(&format!("/proc/{p}")).exists()).unwrap();
    let stale = pids.join(format!("recode-sandbox-{dead}"));
    if std::fs::create_dir(&stale).is_err() {
        eprintln!("skipped: cannot create {}", stale.display());
        return;
    }
    let root = Root::new();
    let server = server(&root, limits(3_000));
    let out = server.run(&RunSpec::new(python(), "print('ok')")).unwrap();
    assert_eq!(out.error_class(), ErrorClass::Ok);
    assert!(!stale.exists(), "{} is still there", stale.display());
}
