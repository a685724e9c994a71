//! What to run and under which limits.
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Resource limits of one run.
///
/// The CPU, address-space, file-size and process limits are `setrlimit` limits applied to the
/// program's process (and inherited by its children); `None` leaves the inherited limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock limit from spawn to exit; on expiry the whole process group is killed
    /// (SIGKILL) and the run is reported as timed out. Default 15 s.
    pub wall: Duration,
    /// CPU time (`RLIMIT_CPU`, user + system, whole seconds rounded up; SIGXCPU at the soft
    /// limit, SIGKILL one second later). `None` (the default) derives it from the wall limit:
    /// 2 × wall + 1 s, so that two busy threads are not cut off before the wall clock.
    pub cpu: Option<Duration>,
    /// Address space in bytes (`RLIMIT_AS`); allocations beyond it fail (Python raises
    /// `MemoryError`). Default 8 GiB.
    pub address_space: Option<u64>,
    /// Largest file the program may write, in bytes (`RLIMIT_FSIZE`; Python gets `OSError`
    /// EFBIG). Default 256 MiB.
    pub file_size: Option<u64>,
    /// `RLIMIT_NPROC`: processes of the *user* (the kernel's semantics, so other processes of
    /// the same user count too; not enforced for root). Lowered to this value only when the
    /// current limit is higher. Default 4096, a fork-bomb brake that ordinary programs never meet.
    pub processes: Option<u64>,
    /// Bytes of stdout kept; the rest is counted and dropped (see [`Captured`](crate::Captured)).
    /// Default 64 KiB.
    pub stdout_bytes: usize,
    /// Bytes of stderr kept. Default 64 KiB.
    pub stderr_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(15),
            cpu: None,
            address_space: Some(8 << 30),
            file_size: Some(256 << 20),
            processes: Some(4096),
            stdout_bytes: 64 << 10,
            stderr_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// The CPU limit in effect: [`Limits::cpu`] or 2 × wall + 1 s, in whole seconds (≥ 1).
    pub fn effective_cpu_secs(&self) -> u64 {
        let cpu = self.cpu.unwrap_or(self.wall * 2 + Duration::from_secs(1));
        let secs = cpu.as_secs() + u64::from(cpu.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// Whether the program may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkPolicy {
    /// Put the program in a new, empty network namespace (only a loopback interface) when the
    /// platform allows it (root, or unprivileged user namespaces); otherwise run it anyway.
    /// Every [`RunOutput`](crate::RunOutput) says whether isolation was in effect and, if not,
    /// why.
    #[default]
    BestEffort,
    /// Like `BestEffort`, but a run that cannot be isolated is not started:
    /// [`SandboxError::NetworkIsolationUnavailable`](crate::SandboxError).
    Require,
    /// Do not try: the program shares the host's network.
    Allow,
}

/// One program to run: an interpreter, the program's source text and how to call it.
///
/// The source is written to [`RunSpec::script_name`] inside a new private temporary directory,
/// which is also the working directory and `TMPDIR`; the command line is
/// `interpreter [interpreter_args…] DIR/script_name [args…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// Path of the interpreter (`…/venv/bin/python`); a bare name is looked up in `PATH`.
    pub interpreter: PathBuf,
    /// Flags before the script, e.g. `-W error::DeprecationWarning`.
    pub interpreter_args: Vec<OsString>,
    /// The program text.
    pub source: String,
    /// File name of the program inside the directory. Default `main.py`.
    pub script_name: String,
    /// Arguments after the script.
    pub args: Vec<OsString>,
    /// Environment variables set for the program (after the base environment).
    pub env: Vec<(OsString, OsString)>,
    /// Start from the whole environment of this process instead of the base environment
    /// (`PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LC_ALL`, `LC_CTYPE`, `TZ`, `TERM`,
    /// `XDG_CACHE_HOME`, `XDG_CONFIG_HOME`, when set). Default false. `TMPDIR`, `TMP` and
    /// `TEMP` always point at the private directory.
    pub inherit_env: bool,
    /// Bytes fed to stdin (then closed); `None`: stdin is `/dev/null`.
    pub stdin: Option<Vec<u8>>,
    /// Extra files written into the directory before the run (relative paths, no `..`).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Limits of this run; `None`: the sandbox's.
    pub limits: Option<Limits>,
}

impl RunSpec {
    /// `interpreter DIR/main.py` running `source`, with nothing else set.
    pub fn new(interpreter: impl Into<PathBuf>, source: impl Into<String>) -> Self {
        RunSpec {
            interpreter: interpreter.into(),
            interpreter_args: Vec::new(),
            source: source.into(),
            script_name: "main.py".to_string(),
            args: Vec::new(),
            env: Vec::new(),
            inherit_env: false,
            stdin: None,
            files: Vec::new(),
            limits: None,
        }
    }

    /// Adds an interpreter flag (before the script).
    pub fn flag(mut self, flag: impl Into<OsString>) -> Self {
        self.interpreter_args.push(flag.into());
        self
    }

    /// Adds a program argument (after the script).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Feeds `bytes` to stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Writes an extra file into the working directory before the run.
    pub fn file(mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.into(), contents.into()));
        self
    }

    /// Overrides the sandbox's limits for this run.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }
}
