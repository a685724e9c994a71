//! The fork server: one Python process per environment imports the heavy modules (numpy,
//! torch, sympy, …) once and forks a child per program, so a test does not pay seconds of
//! import time.
//!
//! What each program still gets (compare [`Sandbox::run`], the one-process-per-program mode):
//! its own private temporary directory (working directory, `TMPDIR`, `sys.path[0]`; removed
//! afterwards), a new session and process group (killed with SIGKILL on timeout and after the
//! exit), the `setrlimit` limits of [`Limits`], stdout and stderr drained and capped, a new
//! network namespace, and — where the platform allows it (root) — more than the plain mode:
//! a new **pid namespace** in which the program is pid 1 (when it dies the kernel kills every
//! process left in it, even ones that left the process group; `os.getppid()` is 0, so a
//! program cannot signal its parent), file systems that are all **read-only** but for the
//! private directory (the server lives in its own mount namespace; writing outside fails with
//! `EROFS`), and a **pids cgroup** per server whose `pids.max` is [`Limits::processes`] (a
//! fork-bomb brake that works for root, unlike `RLIMIT_NPROC`). What could not be had is said
//! in [`RunOutput::notes`]. Per program this costs one fork, two mount calls and two namespace
//! calls; the mount namespace and the cgroup are set up once per server.
//!
//! Differences from a fresh interpreter, by design: the preloaded modules are already in
//! `sys.modules` (that is the point), environment variables that matter at import time
//! (`OMP_NUM_THREADS`, `MPLBACKEND`, …) come from [`ForkServerConfig::env`], not from the
//! run's spec, and the hash seed is the server's. `random`, NumPy's and torch's global
//! generators are reseeded in each child, as a new process would be. Interpreter flags: `-W`
//! is honoured, `-B`, `-u`, `-s`, `-E` are accepted (no effect), others are refused.
//!
//! One server process serves one program at a time; [`ForkServer`] keeps a pool of idle
//! servers and starts another when all are busy, so `jobs` threads use `jobs` servers. A
//! server that dies (a program killed it, or it crashed) is replaced by a fresh one.
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::capture::Capture;
use crate::error::SandboxError;
use crate::run::{
    BASE_ENV, DRAIN_GRACE, ExitStatus, RunOutput, Sandbox, cloexec_pipe, drain, is_plain_relative, kill_group, pollfd,
    remove_tree, resolve_interpreter, set_nonblocking, write_file,
};
use crate::spec::{Limits, NetworkPolicy, RunSpec};

/// How errors of a server that died before the program started begin (retried once).
const NOT_STARTED: &str = "fork server (";

/// The server program (Python).
const SERVER_SOURCE: &str = include_str!("forkserver.py");

/// Variables the server gets unless [`ForkServerConfig::env`] sets them: forking a process
/// whose BLAS or OpenMP thread pools are running is unsafe, and one thread per program is
/// what a pool of programs over the cores wants anyway.
const SERVER_DEFAULT_ENV: [(&str, &str); 5] = [
    ("OMP_NUM_THREADS", "1"),
    ("OPENBLAS_NUM_THREADS", "1"),
    ("MKL_NUM_THREADS", "1"),
    ("PYTHONHASHSEED", "0"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
];

/// Something that runs a [`RunSpec`]: the plain [`Sandbox`] (one new interpreter per program)
/// or a [`ForkServer`]. Harnesses take `&dyn Executor` so either can be measured.
pub trait Executor: Send + Sync {
    /// Runs one program and waits for it.
    fn run(&self, spec: &RunSpec) -> Result<RunOutput, SandboxError>;
    /// A short description for reports (`plain`, `fork-server (numpy, torch preloaded)`).
    fn describe(&self) -> String;
}

impl Executor for Sandbox {
    fn run(&self, spec: &RunSpec) -> Result<RunOutput, SandboxError> {
        Sandbox::run(self, spec)
    }
    fn describe(&self) -> String {
        "one process per program".to_string()
    }
}

/// How to start the servers. Defaults: nothing preloaded, no extra environment, 300 s to
/// start (importing torch can take a while on a loaded machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkServerConfig {
    /// The interpreter (`…/venv/bin/python`; a bare name is looked up in `PATH`). Every spec
    /// run by this server must name the same interpreter.
    pub interpreter: PathBuf,
    /// Modules imported once by the server (`numpy`, `torch`, …). One that fails to import is
    /// reported in [`ServerInfo::preloaded`], not an error.
    pub preload: Vec<String>,
    /// Environment of the server (on top of the base environment and the defaults
    /// `OMP_NUM_THREADS=1`, `OPENBLAS_NUM_THREADS=1`, `MKL_NUM_THREADS=1`,
    /// `PYTHONHASHSEED=0`, `PYTHONDONTWRITEBYTECODE=1`), in effect while modules are imported.
    pub env: Vec<(OsString, OsString)>,
    /// How long a server may take to start and import the modules.
    pub startup_timeout: Duration,
}

impl ForkServerConfig {
    /// The defaults for `interpreter`.
    pub fn new(interpreter: impl Into<PathBuf>) -> Self {
        ForkServerConfig {
            interpreter: interpreter.into(),
            preload: Vec::new(),
            env: Vec::new(),
            startup_timeout: Duration::from_secs(300),
        }
    }

    /// Adds a module to preload.
    pub fn preload(mut self, module: impl Into<String>) -> Self {
        self.preload.push(module.into());
        self
    }

    /// Sets a variable of the server's environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// What a started server reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// `3.11.7`.
    pub python: String,
    /// `sys.executable`.
    pub executable: String,
    /// Each preloaded module: its `__version__`, `imported` (no version), or `error: …`.
    pub preloaded: BTreeMap<String, String>,
    /// Seconds the imports took.
    pub import_seconds: f64,
}

/// A pool of fork servers for one interpreter, sharing a [`Sandbox`]'s limits, network policy
/// and temporary root. Cheap to share between threads (`&ForkServer` is `Sync`).
pub struct ForkServer {
    sandbox: Sandbox,
    config: ForkServerConfig,
    interpreter: PathBuf,
    info: ServerInfo,
    idle: Mutex<Vec<Server>>,
    seq: AtomicU64,
}

impl std::fmt::Debug for ForkServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForkServer").field("interpreter", &self.interpreter).field("info", &self.info).finish()
    }
}

impl ForkServer {
    /// Starts one server (to check that it works and to learn what it imported); more are
    /// started on demand.
    pub fn start(sandbox: Sandbox, config: ForkServerConfig) -> Result<ForkServer, SandboxError> {
        let interpreter = resolve_interpreter(&config.interpreter)?;
        let (server, info) = Server::spawn(&interpreter, &config)?;
        Ok(ForkServer { sandbox, config, interpreter, info, idle: Mutex::new(vec![server]), seq: AtomicU64::new(0) })
    }

    /// What the first server reported.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// The interpreter (resolved).
    pub fn interpreter(&self) -> &Path {
        &self.interpreter
    }

    /// The sandbox whose limits and policies apply.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    fn take_server(&self) -> Result<Server, SandboxError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            match idle {
                // A server that exited while idle is dropped (and reaped) and replaced.
                Some(mut server) => {
                    if matches!(server.child.try_wait(), Ok(None)) {
                        return Ok(server);
                    }
                }
                None => return Server::spawn(&self.interpreter, &self.config).map(|(server, _)| server),
            }
        }
    }

    /// Runs one program in a forked child of a server and waits for it.
    pub fn run(&self, spec: &RunSpec) -> Result<RunOutput, SandboxError> {
        let limits = spec.limits.as_ref().unwrap_or(self.sandbox.limits());
        let interpreter = resolve_interpreter(&spec.interpreter)?;
        if interpreter != self.interpreter {
            return Err(SandboxError::InvalidSpec(format!(
                "this fork server runs {}, the spec asks for {}",
                self.interpreter.display(),
                interpreter.display()
            )));
        }
        let warnings = warning_options(&spec.interpreter_args)?;
        let root = self.sandbox.temp_root().map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("recode-sandbox-")
            .tempdir_in(&root)
            .map_err(|error| SandboxError::TempDir { root, error })?;
        let dir_path = dir.path().to_path_buf();
        let mut attempt = 0;
        let result = loop {
            let mut server = self.take_server()?;
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let result = self.run_in(&mut server, spec, limits, &warnings, &dir_path, seq);
            if server.alive {
                self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(server);
            }
            // A server that died before the program started: once more with a fresh one.
            let not_started = matches!(&result, Err(SandboxError::Os { op, .. }) if op.starts_with(NOT_STARTED));
            if not_started && attempt == 0 {
                attempt += 1;
                continue;
            }
            break result;
        };
        let cleanup_error = match dir.close() {
            Ok(()) => None,
            Err(_) => remove_tree(&dir_path).err().map(|e| format!("cannot remove {}: {e}", dir_path.display())),
        };
        result.map(|mut output| {
            output.cleanup_error = cleanup_error;
            output
        })
    }

    fn run_in(
        &self,
        server: &mut Server,
        spec: &RunSpec,
        limits: &Limits,
        warnings: &[String],
        dir: &Path,
        seq: u64,
    ) -> Result<RunOutput, SandboxError> {
        if spec.script_name.is_empty() || !is_plain_relative(Path::new(&spec.script_name)) {
            return Err(SandboxError::InvalidSpec(format!(
                "script name {:?} must be a relative path without `..`",
                spec.script_name
            )));
        }
        write_file(&dir.join(&spec.script_name), spec.source.as_bytes())?;
        for (path, contents) in &spec.files {
            if !is_plain_relative(path) {
                return Err(SandboxError::InvalidSpec(format!(
                    "extra file {} must be a relative path without `..`",
                    path.display()
                )));
            }
            write_file(&dir.join(path), contents)?;
        }
        let env = program_env(spec, dir)?;
        let network = self.sandbox.network();
        let request = json!({
            "seq": seq,
            "dir": path_str(dir)?,
            "script": spec.script_name,
            "args": spec.args.iter().map(|a| os_str(a)).collect::<Result<Vec<_>, _>>()?,
            "env": env,
            "rlimits": rlimits(limits),
            "warnings": warnings,
            "netns": network != NetworkPolicy::Allow,
            "require_netns": network == NetworkPolicy::Require,
            "pidns": true,
            "processes": limits.processes,
        });

        let (stdout_r, stdout_w) = cloexec_pipe()?;
        let (stderr_r, stderr_w) = cloexec_pipe()?;
        let (stdin_r, stdin_w) = match &spec.stdin {
            Some(_) => {
                let (r, w) = cloexec_pipe()?;
                (r, Some(w))
            }
            None => {
                let null = std::fs::File::open("/dev/null").map_err(|error| SandboxError::Os { op: "open", error })?;
                (OwnedFd::from(null), None)
            }
        };
        let body = request.to_string().into_bytes();
        let mut message = (body.len() as u32).to_be_bytes().to_vec();
        message.extend_from_slice(&body);
        let fds = [stdin_r.as_raw_fd(), stdout_w.as_raw_fd(), stderr_w.as_raw_fd()];
        if let Err(error) = server.send(&message, &fds) {
            server.alive = false;
            return Err(SandboxError::Os { op: "fork server (sending the program)", error });
        }
        drop((stdin_r, stdout_w, stderr_w));
        let pid = match server.read_pid(Duration::from_secs(30)) {
            Ok(pid) => pid,
            Err(error) => {
                server.alive = false;
                return Err(SandboxError::Os { op: "fork server (starting the program)", error });
            }
        };
        let start = Instant::now();
        let stdin_writer = match (stdin_w, &spec.stdin) {
            (Some(pipe), Some(bytes)) => {
                let bytes = bytes.clone();
                Some(std::thread::spawn(move || {
                    let _ = std::fs::File::from(pipe).write_all(&bytes);
                }))
            }
            _ => None,
        };
        let supervised = supervise(server, pid, start, limits, stdout_r, stderr_r);
        kill_group(pid);
        if let Some(writer) = stdin_writer {
            let _ = writer.join();
        }
        let supervised = supervised?;
        let mut notes = supervised.notes;
        let (status, cpu) = match supervised.status {
            Some((raw, cpu)) => (decode_status(raw), Some(cpu)),
            None => {
                server.alive = false;
                notes.push(
                    "the fork server died during this run (killed by the program?); the program was killed".to_string(),
                );
                (ExitStatus::Signaled(libc::SIGKILL), None)
            }
        };
        let network_isolated = network != NetworkPolicy::Allow
            && !notes.iter().any(|n| n.starts_with("network not isolated") || n.starts_with("namespaces unavailable"));
        let network_note = match network {
            NetworkPolicy::Allow => Some("network allowed by policy".to_string()),
            _ if network_isolated => None,
            _ => Some("no network isolation (see notes)".to_string()),
        };
        if network == NetworkPolicy::Require && !network_isolated {
            return Err(SandboxError::NetworkIsolationUnavailable { reason: notes.join("; ") });
        }
        Ok(RunOutput {
            status,
            timed_out: supervised.timed_out,
            wall: supervised.wall,
            cpu,
            stdout: supervised.stdout,
            stderr: supervised.stderr,
            network_isolated,
            network_note,
            escaped: supervised.escaped,
            cleanup_error: None,
            notes,
        })
    }
}

impl Executor for ForkServer {
    fn run(&self, spec: &RunSpec) -> Result<RunOutput, SandboxError> {
        ForkServer::run(self, spec)
    }
    fn describe(&self) -> String {
        let preloaded: Vec<&str> = self.config.preload.iter().map(String::as_str).collect();
        if preloaded.is_empty() {
            "fork server".to_string()
        } else {
            format!("fork server ({} preloaded)", preloaded.join(", "))
        }
    }
}

/// The `-W` options among interpreter flags; other flags are refused, except a few that do
/// not matter here.
fn warning_options(args: &[OsString]) -> Result<Vec<String>, SandboxError> {
    let mut out = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let arg = os_str(arg)?;
        match arg.as_str() {
            "-W" => match iter.next() {
                Some(value) => out.push(os_str(value)?),
                None => return Err(SandboxError::InvalidSpec("-W without a value".to_string())),
            },
            "-B" | "-u" | "-s" | "-E" => {}
            other if other.starts_with("-W") => out.push(other[2..].to_string()),
            other => {
                return Err(SandboxError::InvalidSpec(format!(
                    "interpreter flag {other:?} is not supported by the fork server (only -W, -B, -u, -s, -E)"
                )));
            }
        }
    }
    Ok(out)
}

fn os_str(s: &std::ffi::OsStr) -> Result<String, SandboxError> {
    s.to_str().map(str::to_string).ok_or_else(|| SandboxError::InvalidSpec(format!("{s:?} is not valid UTF-8")))
}

fn path_str(p: &Path) -> Result<String, SandboxError> {
    os_str(p.as_os_str())
}

/// The program's environment, built as the plain mode builds it.
fn program_env(spec: &RunSpec, dir: &Path) -> Result<serde_json::Map<String, Value>, SandboxError> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    if spec.inherit_env {
        env.extend(std::env::vars_os());
    } else {
        for key in BASE_ENV {
            if let Some(value) = std::env::var_os(key) {
                env.push((key.into(), value));
            }
        }
    }
    for key in ["TMPDIR", "TMP", "TEMP"] {
        env.push((key.into(), dir.as_os_str().to_owned()));
    }
    env.extend(spec.env.iter().cloned());
    let mut map = serde_json::Map::new();
    for (key, value) in env {
        map.insert(os_str(&key)?, Value::String(os_str(&value)?));
    }
    Ok(map)
}

fn rlimits(limits: &Limits) -> Value {
    let mut out = vec![json!([libc::RLIMIT_CORE, 0, 0])];
    let cpu = limits.effective_cpu_secs();
    out.push(json!([libc::RLIMIT_CPU, cpu, cpu + 1]));
    if let Some(bytes) = limits.address_space {
        out.push(json!([libc::RLIMIT_AS, bytes, bytes]));
    }
    if let Some(bytes) = limits.file_size {
        out.push(json!([libc::RLIMIT_FSIZE, bytes, bytes]));
    }
    Value::Array(out)
}

fn decode_status(raw: i32) -> ExitStatus {
    if libc::WIFSIGNALED(raw) {
        ExitStatus::Signaled(libc::WTERMSIG(raw))
    } else {
        ExitStatus::Exited(libc::WEXITSTATUS(raw))
    }
}

/// One server process and our end of its control socket.
struct Server {
    child: Child,
    ctl: UnixStream,
    buffer: Vec<u8>,
    alive: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing the socket makes the server remove its cgroup and exit; SIGKILL if it is
        // stuck, and then its cgroup is removed from here.
        let _ = self.ctl.shutdown(std::net::Shutdown::Both);
        let deadline = Instant::now() + Duration::from_secs(2);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let cgroup = PathBuf::from(format!("/sys/fs/cgroup/pids/recode-sandbox-{}", self.child.id()));
        // The kernel may take a moment to let go of the last member.
        for _ in 0..100 {
            if !cgroup.exists() || std::fs::remove_dir(&cgroup).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Server {
    fn spawn(interpreter: &Path, config: &ForkServerConfig) -> Result<(Server, ServerInfo), SandboxError> {
        let (ours, theirs) = UnixStream::pair().map_err(|error| SandboxError::Os { op: "socketpair", error })?;
        let preload = serde_json::to_string(&config.preload).expect("strings serialise");
        let mut command = Command::new(interpreter);
        command
            .arg("-s")
            .arg("-c")
            .arg(SERVER_SOURCE)
            .arg("3")
            .arg(preload)
            .current_dir("/")
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for key in BASE_ENV {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        for (key, value) in SERVER_DEFAULT_ENV {
            command.env(key, value);
        }
        command.envs(config.env.iter().map(|(k, v)| (k, v)));
        let fd = theirs.as_raw_fd();
        // SAFETY: dup2 is async-signal-safe; it leaves fd 3 without FD_CLOEXEC.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(fd, 3) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child =
            command.spawn().map_err(|error| SandboxError::Spawn { interpreter: interpreter.to_path_buf(), error })?;
        drop(theirs);
        let stderr = child.stderr.take().expect("piped stderr");
        set_nonblocking(ours.as_raw_fd()).map_err(|error| SandboxError::Os { op: "fcntl(O_NONBLOCK)", error })?;
        let mut server = Server { child, ctl: ours, buffer: Vec::new(), alive: true };
        let deadline = Instant::now() + config.startup_timeout;
        let line = server.read_line(Some(deadline));
        let failed = |reason: String| {
            let mut text = String::new();
            let _ = { stderr }.read_to_string(&mut text);
            let tail: String =
                text.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            SandboxError::Spawn {
                interpreter: interpreter.to_path_buf(),
                error: io::Error::other(format!("the fork server did not start: {reason}\n{tail}")),
            }
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                return Err(failed("it exited".to_string()));
            }
            Err(error) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                return Err(failed(error.to_string()));
            }
        };
        let value: Value = serde_json::from_str(&line).map_err(|e| failed(format!("bad ready line {line:?}: {e}")))?;
        let ready = &value["ready"];
        let info = ServerInfo {
            python: ready["python"].as_str().unwrap_or("").to_string(),
            executable: ready["executable"].as_str().unwrap_or("").to_string(),
            preloaded: ready["preloaded"]
                .as_object()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
                .unwrap_or_default(),
            import_seconds: ready["import_s"].as_f64().unwrap_or(0.0),
        };
        Ok((server, info))
    }

    /// Sends `data` with `fds` attached to its first byte.
    fn send(&mut self, data: &[u8], fds: &[RawFd]) -> io::Result<()> {
        let sock = self.ctl.as_raw_fd();
        let fd_bytes = std::mem::size_of_val(fds) as u32;
        // SAFETY: CMSG_SPACE is a pure computation.
        let space = unsafe { libc::CMSG_SPACE(fd_bytes) } as usize;
        let mut control = vec![0u64; space.div_ceil(8)];
        let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
        // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
        let sent = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast::<RawFd>(), fds.len());
            loop {
                let n = libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
                if n >= 0 {
                    break n as usize;
                }
                let error = io::Error::last_os_error();
                match error.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => wait_fd(sock, libc::POLLOUT, Duration::from_secs(10))?,
                    _ => return Err(error),
                }
            }
        };
        let mut rest = &data[sent..];
        while !rest.is_empty() {
            match self.ctl.write(rest) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "fork server closed its socket")),
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_fd(sock, libc::POLLOUT, Duration::from_secs(10))?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads what is available; true at end of file.
    fn pump(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.ctl.read(&mut chunk) {
                Ok(0) => return Ok(true),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn take_line(&mut self) -> Option<String> {
        let at = self.buffer.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.buffer.drain(..=at).collect();
        Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned())
    }

    /// The next line; `None` at end of file. Waits until `deadline` (forever if `None`).
    fn read_line(&mut self, deadline: Option<Instant>) -> io::Result<Option<String>> {
        loop {
            if let Some(line) = self.take_line() {
                return Ok(Some(line));
            }
            if self.pump()? {
                return Ok(self.take_line());
            }
            if let Some(line) = self.take_line() {
                return Ok(Some(line));
            }
            let wait = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
                    }
                    left
                }
                None => Duration::from_secs(3600),
            };
            wait_fd(self.ctl.as_raw_fd(), libc::POLLIN, wait)
                .or_else(|e| if e.kind() == io::ErrorKind::TimedOut { Ok(()) } else { Err(e) })?;
        }
    }

    fn read_pid(&mut self, timeout: Duration) -> io::Result<libc::pid_t> {
        let line = self
            .read_line(Some(Instant::now() + timeout))?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the fork server exited"))?;
        let value: Value = serde_json::from_str(&line).map_err(io::Error::other)?;
        value["pid"]
            .as_i64()
            .map(|p| p as libc::pid_t)
            .ok_or_else(|| io::Error::other(format!("expected {{\"pid\": …}}, got {line:?}")))
    }
}

/// Waits until `fd` is ready for `events` (or `timeout`, which is an error).
fn wait_fd(fd: RawFd, events: i16, timeout: Duration) -> io::Result<()> {
    let mut p = libc::pollfd { fd, events, revents: 0 };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n > 0 {
            return Ok(());
        }
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

struct Supervised {
    timed_out: bool,
    wall: Duration,
    stdout: crate::Captured,
    stderr: crate::Captured,
    escaped: Option<String>,
    /// Raw wait status and CPU seconds; `None` when the server died first.
    status: Option<(i32, Duration)>,
    notes: Vec<String>,
}

/// Like the plain mode's supervision, with the server's status line as the exit signal.
fn supervise(
    server: &mut Server,
    pid: libc::pid_t,
    start: Instant,
    limits: &Limits,
    stdout: OwnedFd,
    stderr: OwnedFd,
) -> Result<Supervised, SandboxError> {
    let os = |op| move |error| SandboxError::Os { op, error };
    for fd in [&stdout, &stderr] {
        set_nonblocking(fd.as_raw_fd()).map_err(os("fcntl(O_NONBLOCK)"))?;
    }
    let deadline = start + limits.wall;
    let mut pipes =
        [(Some(stdout), Capture::new(limits.stdout_bytes)), (Some(stderr), Capture::new(limits.stderr_bytes))];
    let mut exited_at: Option<Instant> = None;
    let mut timed_out = false;
    let mut status = None;
    let mut notes = Vec::new();
    let mut buffer = vec![0u8; 64 << 10];
    let ctl = server.ctl.as_raw_fd();
    loop {
        let now = Instant::now();
        if exited_at.is_none() && !timed_out && now >= deadline {
            timed_out = true;
            kill_group(pid);
        }
        let open = pipes.iter().filter(|(fd, _)| fd.is_some()).count();
        if let Some(at) = exited_at
            && (open == 0 || now >= at + DRAIN_GRACE)
        {
            break;
        }
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(3);
        for (fd, _) in &pipes {
            if let Some(fd) = fd {
                fds.push(pollfd(fd.as_raw_fd()));
            }
        }
        // A status line read earlier (with the pid line) ends the wait at once.
        let buffered = exited_at.is_none() && server.buffer.contains(&b'\n');
        let watch_ctl = exited_at.is_none();
        if watch_ctl {
            fds.push(pollfd(ctl));
        }
        let wait = match exited_at {
            _ if buffered => Duration::ZERO,
            Some(at) => (at + DRAIN_GRACE).saturating_duration_since(now),
            None if timed_out => Duration::from_millis(100),
            None => deadline.saturating_duration_since(now),
        };
        let timeout_ms = if buffered { 0 } else { wait.as_millis().clamp(1, i32::MAX as u128) as i32 };
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                kill_group(pid);
                return Err(SandboxError::Os { op: "poll", error });
            }
            continue;
        }
        let mut index = 0;
        for (fd, capture) in &mut pipes {
            let Some(raw) = fd.as_ref().map(|f| f.as_raw_fd()) else {
                continue;
            };
            let revents = fds[index].revents;
            index += 1;
            if revents != 0 && drain(raw, capture, &mut buffer) {
                *fd = None;
            }
        }
        if watch_ctl && (buffered || fds[index].revents != 0) {
            let eof = server.pump().unwrap_or(true);
            // The status line may already be buffered (read together with the pid line).
            if let Some(line) = server.take_line() {
                let value: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if let Some(raw) = value["status"].as_i64() {
                    let cpu = Duration::from_secs_f64(value["cpu"].as_f64().unwrap_or(0.0).max(0.0));
                    status = Some((raw as i32, cpu));
                    notes = value["notes"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
                        .unwrap_or_default();
                }
                exited_at = Some(Instant::now());
                kill_group(pid);
            } else if eof {
                exited_at = Some(Instant::now());
                kill_group(pid);
            }
        }
    }
    let exited_at = exited_at.expect("loop ends after exit");
    let open = pipes.iter().filter(|(fd, _)| fd.is_some()).count();
    let escaped = (open > 0).then(|| {
        "output pipes stayed open after the process group was killed: a process left the \
         group (setsid) and may still be running"
            .to_string()
    });
    let [(_, out), (_, err)] = pipes;
    Ok(Supervised {
        timed_out,
        wall: exited_at.duration_since(start),
        stdout: out.finish(),
        stderr: err.finish(),
        escaped,
        status,
        notes,
    })
}

/// Fork servers chosen per program by the heavy modules it imports: a program that imports
/// none of [`ForkServers::heavy`] runs in a server that preloaded nothing (forking a bare
/// interpreter is cheap), one that imports numpy in a server that preloaded numpy, and so on —
/// one [`ForkServer`] per distinct set, started on first use. Forking a process that has torch
/// imported costs several times more than forking a bare interpreter (page tables), so this
/// keeps the price of torch to the programs that use it.
pub struct ForkServers {
    sandbox: Sandbox,
    config: ForkServerConfig,
    heavy: Vec<String>,
    servers: Mutex<BTreeMap<Vec<String>, std::sync::Arc<ForkServer>>>,
}

impl ForkServers {
    /// `config.preload` is ignored: each server preloads the heavy modules its programs import.
    pub fn new(sandbox: Sandbox, config: ForkServerConfig, heavy: &[&str]) -> ForkServers {
        ForkServers {
            sandbox,
            config,
            heavy: heavy.iter().map(|s| s.to_string()).collect(),
            servers: Mutex::new(BTreeMap::new()),
        }
    }

    /// The modules worth preloading.
    pub fn heavy(&self) -> &[String] {
        &self.heavy
    }

    /// The heavy modules `source` imports (`import a.b`, `import a as x, b`, `from a.b import c`,
    /// at any indentation).
    pub fn imported_heavy(&self, source: &str) -> Vec<String> {
        let mut found = std::collections::BTreeSet::new();
        for line in source.lines() {
            let line = line.trim_start();
            let names: Vec<&str> = if let Some(rest) = line.strip_prefix("import ") {
                rest.split(',').map(|part| part.trim().split([' ', '.']).next().unwrap_or("")).collect()
            } else if let Some(rest) = line.strip_prefix("from ") {
                vec![rest.trim_start().split([' ', '.']).next().unwrap_or("")]
            } else {
                continue;
            };
            for name in names {
                if let Some(h) = self.heavy.iter().find(|h| h.as_str() == name) {
                    found.insert(h.clone());
                }
            }
        }
        found.into_iter().collect()
    }

    /// The server for this set of modules (started on first use).
    pub fn server(&self, modules: Vec<String>) -> Result<std::sync::Arc<ForkServer>, SandboxError> {
        if let Some(server) = self.servers.lock().unwrap_or_else(|e| e.into_inner()).get(&modules) {
            return Ok(server.clone());
        }
        // Started outside the lock: other sets need not wait for torch to import.
        let config = ForkServerConfig { preload: modules.clone(), ..self.config.clone() };
        let server = std::sync::Arc::new(ForkServer::start(self.sandbox.clone(), config)?);
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        Ok(servers.entry(modules).or_insert(server).clone())
    }

    /// What each started server reported, by its preloaded modules.
    pub fn infos(&self) -> Vec<(Vec<String>, ServerInfo)> {
        let servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        servers.iter().map(|(k, s)| (k.clone(), s.info().clone())).collect()
    }
}

impl Executor for ForkServers {
    fn run(&self, spec: &RunSpec) -> Result<RunOutput, SandboxError> {
        self.server(self.imported_heavy(&spec.source))?.run(spec)
    }
    fn describe(&self) -> String {
        format!("fork servers by imported modules ({} preloaded where imported)", self.heavy.join(", "))
    }
}
