//! The executor: one sandboxed child process per run.
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::capture::{Capture, Captured};
use crate::classify::{ErrorClass, python_exception};
use crate::error::SandboxError;
use crate::pool::{Progress, map_ordered};
use crate::spec::{Limits, NetworkPolicy, RunSpec};

/// How long output pipes are still drained after the program's process group was killed.
/// They close at once unless a process escaped the group (`setsid`).
pub(crate) const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Variables passed through from this process when [`RunSpec::inherit_env`] is false.
pub(crate) const BASE_ENV: [&str; 11] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
];

/// How the program's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this status.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

/// Everything known about one finished run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// How the program's main process ended.
    pub status: ExitStatus,
    /// Whether the wall-clock limit expired (the process group was then killed).
    pub timed_out: bool,
    /// Wall-clock time from spawn to the main process's exit.
    pub wall: Duration,
    /// User + system CPU time of the main process and the children it waited for.
    pub cpu: Option<Duration>,
    /// Captured stdout.
    pub stdout: Captured,
    /// Captured stderr.
    pub stderr: Captured,
    /// Whether the program ran in its own empty network namespace.
    pub network_isolated: bool,
    /// How isolation was obtained, or why it was not (`None` when isolated plainly).
    pub network_note: Option<String>,
    /// Set when the output pipes stayed open after the process group was killed: some
    /// process left the group (`setsid`) and may still be running.
    pub escaped: Option<String>,
    /// Set when the private directory could not be removed completely.
    pub cleanup_error: Option<String>,
    /// Other remarks on the isolation of this run (the fork server's: a mount left writable,
    /// no process limit, the server lost during the run). Empty when there are none.
    pub notes: Vec<String>,
}

impl RunOutput {
    /// Exit status 0 within the time limit.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status == ExitStatus::Exited(0)
    }

    /// The exit status when the process exited (not killed by a signal).
    pub fn exit_code(&self) -> Option<i32> {
        match self.status {
            ExitStatus::Exited(code) => Some(code),
            ExitStatus::Signaled(_) => None,
        }
    }

    /// The signal that killed the process.
    pub fn signal(&self) -> Option<i32> {
        match self.status {
            ExitStatus::Signaled(signal) => Some(signal),
            ExitStatus::Exited(_) => None,
        }
    }

    /// How the run ended: `Timeout` first, then `Killed(signal)`, `Ok`, the Python exception
    /// named by the traceback on stderr, or `Exit(code)`.
    pub fn error_class(&self) -> ErrorClass {
        if self.timed_out {
            return ErrorClass::Timeout;
        }
        match self.status {
            ExitStatus::Signaled(signal) => ErrorClass::Killed(signal),
            ExitStatus::Exited(0) => ErrorClass::Ok,
            ExitStatus::Exited(code) => match python_exception(&self.stderr.text()) {
                Some((name, _)) => ErrorClass::Exception(name),
                None => ErrorClass::Exit(code),
            },
        }
    }

    /// The line that says what went wrong: the traceback's exception line, else the last
    /// non-empty line of stderr; `None` for a successful run.
    pub fn error_line(&self) -> Option<String> {
        if self.success() {
            return None;
        }
        let stderr = self.stderr.text();
        python_exception(&stderr)
            .map(|(_, line)| line)
            .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim_end().to_string()))
    }
}

/// Runs programs in sandboxed child processes. Cheap to create and to share between threads.
///
/// Each run gets: a private temporary directory (working directory and `TMPDIR`, removed
/// afterwards), a new session and process group, `setrlimit` limits, a new network namespace
/// (see [`NetworkPolicy`]), captured and capped stdout/stderr, and a wall-clock limit. When
/// the main process exits or the time is up, the whole process group is killed with SIGKILL,
/// so background children do not outlive the run. (A process that moves itself to another
/// session with `setsid` escapes this; [`RunOutput::escaped`] reports it when it keeps the
/// output pipes open.)
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    limits: Limits,
    network: NetworkPolicy,
    temp_root: Option<PathBuf>,
}

impl Sandbox {
    /// Default limits, best-effort network isolation, directories under the system temp dir.
    pub fn new() -> Self {
        Sandbox::default()
    }

    /// Sets the limits used by specs that have none.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the network policy.
    pub fn with_network(mut self, network: NetworkPolicy) -> Self {
        self.network = network;
        self
    }

    /// Creates the private directories under `root` instead of the system temp dir.
    pub fn with_temp_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.temp_root = Some(root.into());
        self
    }

    /// The default limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The network policy.
    pub fn network(&self) -> NetworkPolicy {
        self.network
    }

    /// Where the private directories are created (`None`: the system temp dir).
    pub fn temp_root(&self) -> Option<&Path> {
        self.temp_root.as_deref()
    }

    /// Runs specs over `jobs` threads; results in input order. `progress` is called after each
    /// run (never concurrently) with the pool's progress, the spec's index and its result.
    pub fn run_many<P>(&self, specs: &[RunSpec], jobs: usize, progress: P) -> Vec<Result<RunOutput, SandboxError>>
    where
        P: FnMut(Progress, usize, &Result<RunOutput, SandboxError>) + Send,
    {
        map_ordered(specs, jobs, |_, spec| self.run(spec), progress)
    }

    /// Runs one program and waits for it (at most its wall-clock limit plus a moment).
    pub fn run(&self, spec: &RunSpec) -> Result<RunOutput, SandboxError> {
        let limits = spec.limits.as_ref().unwrap_or(&self.limits);
        let interpreter = resolve_interpreter(&spec.interpreter)?;
        let root = match &self.temp_root {
            Some(root) => root.clone(),
            None => std::env::temp_dir(),
        };
        let dir = tempfile::Builder::new()
            .prefix("recode-sandbox-")
            .tempdir_in(&root)
            .map_err(|error| SandboxError::TempDir { root, error })?;
        let dir_path = dir.path().to_path_buf();
        let result = self.run_in(spec, limits, &interpreter, &dir_path);
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
        spec: &RunSpec,
        limits: &Limits,
        interpreter: &Path,
        dir: &Path,
    ) -> Result<RunOutput, SandboxError> {
        if spec.script_name.is_empty() || !is_plain_relative(Path::new(&spec.script_name)) {
            return Err(SandboxError::InvalidSpec(format!(
                "script name {:?} must be a relative path without `..`",
                spec.script_name
            )));
        }
        let script = dir.join(&spec.script_name);
        write_file(&script, spec.source.as_bytes())?;
        for (path, contents) in &spec.files {
            if !is_plain_relative(path) {
                return Err(SandboxError::InvalidSpec(format!(
                    "extra file {} must be a relative path without `..`",
                    path.display()
                )));
            }
            write_file(&dir.join(path), contents)?;
        }

        let mut command = Command::new(interpreter);
        command
            .args(&spec.interpreter_args)
            .arg(&script)
            .args(&spec.args)
            .current_dir(dir)
            .env_clear()
            .stdin(if spec.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if spec.inherit_env {
            command.envs(std::env::vars_os());
        } else {
            for key in BASE_ENV {
                if let Some(value) = std::env::var_os(key) {
                    command.env(key, value);
                }
            }
        }
        for key in ["TMPDIR", "TMP", "TEMP"] {
            command.env(key, dir);
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));

        let report = match self.network {
            NetworkPolicy::Allow => None,
            _ => Some(cloexec_pipe()?),
        };
        let setup = ChildSetup::new(limits, self.network, report.as_ref().map(|(_, w)| w.as_raw_fd()));
        // SAFETY: `setup_child` only makes async-signal-safe system calls on memory prepared
        // before the fork; it allocates nothing.
        unsafe {
            command.pre_exec(move || setup_child(&setup));
        }

        let start = Instant::now();
        let spawned = command.spawn();
        // Our copy of the write end must go before reading, or the read would never see EOF.
        let network = report.map(|(read, write)| {
            drop(write);
            read_network_report(read)
        });
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                if let Some(NetworkOutcome::Failed(reason)) = network
                    && self.network == NetworkPolicy::Require
                {
                    return Err(SandboxError::NetworkIsolationUnavailable { reason });
                }
                return Err(SandboxError::Spawn { interpreter: interpreter.to_path_buf(), error });
            }
        };
        let (network_isolated, network_note) = match network {
            None => (false, Some("network allowed by policy".to_string())),
            Some(NetworkOutcome::Isolated { note }) => (true, note),
            Some(NetworkOutcome::Failed(reason)) => (false, Some(reason)),
            Some(NetworkOutcome::Unknown) => {
                (false, Some("the child did not report whether its network was isolated".to_string()))
            }
        };

        let pid = child.id() as libc::pid_t;
        let stdin_writer = match (child.stdin.take(), &spec.stdin) {
            (Some(mut pipe), Some(bytes)) => {
                let bytes = bytes.clone();
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                }))
            }
            _ => None,
        };
        let stdout: OwnedFd = child.stdout.take().expect("piped stdout").into();
        let stderr: OwnedFd = child.stderr.take().expect("piped stderr").into();
        let supervised = supervise(pid, start, limits, stdout, stderr);
        // Reap the main process whatever happened, then sweep its group once more: the group
        // id cannot be reused while any member is alive.
        let (status, cpu) = reap(pid);
        kill_group(pid);
        if let Some(writer) = stdin_writer {
            let _ = writer.join();
        }
        let supervised = supervised?;
        let (status, cpu) = status.map(|s| (s, cpu)).map_err(|error| SandboxError::Os { op: "wait4", error })?;
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
            notes: Vec::new(),
        })
    }
}

struct Supervised {
    timed_out: bool,
    wall: Duration,
    stdout: Captured,
    stderr: Captured,
    escaped: Option<String>,
}

/// Drains both pipes while waiting for the main process to exit or the deadline to pass;
/// kills the group at either; then drains what is left (briefly).
fn supervise(
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
    let pidfd = pidfd_open(pid);
    let deadline = start + limits.wall;
    let mut pipes =
        [(Some(stdout), Capture::new(limits.stdout_bytes)), (Some(stderr), Capture::new(limits.stderr_bytes))];
    let mut exited_at: Option<Instant> = None;
    let mut timed_out = false;
    let mut backoff = Duration::from_millis(1);
    let mut buffer = vec![0u8; 64 << 10];
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
        let watch_pidfd = exited_at.is_none() && pidfd.is_some();
        if watch_pidfd {
            fds.push(pollfd(pidfd.as_ref().expect("pidfd").as_raw_fd()));
        }
        let wait = match exited_at {
            Some(at) => (at + DRAIN_GRACE).saturating_duration_since(now),
            None if pidfd.is_none() => {
                backoff = (backoff * 2).min(Duration::from_millis(20));
                backoff
            }
            None if timed_out => Duration::from_millis(100),
            None => deadline.saturating_duration_since(now),
        };
        let timeout_ms = wait.as_millis().clamp(1, i32::MAX as u128) as i32;
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
        if exited_at.is_none() {
            let exited = if watch_pidfd { fds[index].revents != 0 } else { has_exited(pid) };
            if exited {
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
    })
}

pub(crate) fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd { fd, events: libc::POLLIN, revents: 0 }
}

/// Reads everything available from a non-blocking fd; true at end of file (or error).
pub(crate) fn drain(fd: RawFd, capture: &mut Capture, buffer: &mut [u8]) -> bool {
    loop {
        // SAFETY: `buffer` is valid for writes of its length.
        let n = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
        if n > 0 {
            capture.push(&buffer[..n as usize]);
            continue;
        }
        if n == 0 {
            return true;
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return false,
            _ => return true,
        }
    }
}

pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: plain fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A pidfd for `pid` (Linux ≥ 5.3), readable once the process has exited.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: the syscall takes a pid and flags; a non-negative result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Whether `pid` (our unreaped child) has exited, without reaping it.
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: `info` is a valid out-parameter; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        r == 0 && info.si_pid() != 0
    }
}

/// Waits for and reaps `pid`: its status and its CPU time (with its waited-for children).
fn reap(pid: libc::pid_t) -> (io::Result<ExitStatus>, Option<Duration>) {
    loop {
        let mut status = 0;
        // SAFETY: valid out-parameters; `pid` is our child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return (Err(error), None);
        }
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
        let exit = if libc::WIFSIGNALED(status) {
            ExitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        };
        return (Ok(exit), Some(cpu));
    }
}

/// SIGKILL to the process group `pgid` (the child is its session and group leader).
pub(crate) fn kill_group(pgid: libc::pid_t) {
    // SAFETY: killpg has no memory effects; ESRCH (no such group) is fine.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

pub(crate) fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(SandboxError::Os { op: "pipe2", error: io::Error::last_os_error() });
    }
    // SAFETY: pipe2 returned two new descriptors we now own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// What the child reported about its network namespace.
enum NetworkOutcome {
    Isolated { note: Option<String> },
    Failed(String),
    Unknown,
}

/// Reads the child's 12-byte report: `[how, loopback_up, 0, 0, errno1 (i32), errno2 (i32)]`.
fn read_network_report(read: OwnedFd) -> NetworkOutcome {
    let mut file = std::fs::File::from(read);
    let mut bytes = [0u8; 12];
    if io::Read::read_exact(&mut file, &mut bytes).is_err() {
        return NetworkOutcome::Unknown;
    }
    let errno = |at: usize| {
        let code = i32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        io::Error::from_raw_os_error(code)
    };
    let lo = if bytes[1] == 1 { None } else { Some("the loopback interface could not be brought up") };
    match bytes[0] {
        1 => NetworkOutcome::Isolated { note: lo.map(str::to_string) },
        2 => NetworkOutcome::Isolated {
            note: Some(
                ["new network namespace inside a new user namespace (not root)"]
                    .into_iter()
                    .chain(lo)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        },
        _ => NetworkOutcome::Failed(format!(
            "no network isolation: unshare(CLONE_NEWNET) failed: {}; \
             unshare(CLONE_NEWUSER | CLONE_NEWNET) failed: {}",
            errno(4),
            errno(8)
        )),
    }
}

/// Everything the child needs after `fork`, prepared before it (no allocation afterwards).
struct ChildSetup {
    network: NetworkPolicy,
    report_fd: RawFd,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// `(resource, soft, hard)`; each is capped by the current hard limit in the child.
    rlimits: Vec<(i32, u64, u64)>,
}

impl ChildSetup {
    fn new(limits: &Limits, network: NetworkPolicy, report_fd: Option<RawFd>) -> Self {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let mut rlimits = vec![(libc::RLIMIT_CORE as i32, 0, 0)];
        let cpu = limits.effective_cpu_secs();
        rlimits.push((libc::RLIMIT_CPU as i32, cpu, cpu + 1));
        if let Some(bytes) = limits.address_space {
            rlimits.push((libc::RLIMIT_AS as i32, bytes, bytes));
        }
        if let Some(bytes) = limits.file_size {
            rlimits.push((libc::RLIMIT_FSIZE as i32, bytes, bytes));
        }
        if let Some(n) = limits.processes {
            rlimits.push((libc::RLIMIT_NPROC as i32, n, n));
        }
        ChildSetup {
            network,
            report_fd: report_fd.unwrap_or(-1),
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            rlimits,
        }
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Runs in the child between `fork` and `exec`: async-signal-safe calls only.
fn setup_child(setup: &ChildSetup) -> io::Result<()> {
    // SAFETY (whole function): plain system calls on memory owned by `setup` or the stack.
    unsafe {
        if libc::setsid() < 0 {
            return Err(io::Error::last_os_error());
        }
        if setup.network != NetworkPolicy::Allow {
            let mut report = [0u8; 12];
            if libc::unshare(libc::CLONE_NEWNET) == 0 {
                report[0] = 1;
            } else {
                report[4..8].copy_from_slice(&errno().to_ne_bytes());
                if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0 {
                    report[0] = 2;
                    write_proc(c"/proc/self/setgroups", b"deny");
                    write_proc(c"/proc/self/uid_map", &setup.uid_map);
                    write_proc(c"/proc/self/gid_map", &setup.gid_map);
                } else {
                    report[8..12].copy_from_slice(&errno().to_ne_bytes());
                }
            }
            if report[0] != 0 && loopback_up() {
                report[1] = 1;
            }
            if setup.report_fd >= 0 {
                libc::write(setup.report_fd, report.as_ptr().cast(), report.len());
            }
            if report[0] == 0 && setup.network == NetworkPolicy::Require {
                let code = i32::from_ne_bytes([report[4], report[5], report[6], report[7]]);
                return Err(io::Error::from_raw_os_error(code));
            }
        }
        for &(resource, soft, hard) in &setup.rlimits {
            let mut current = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            if libc::getrlimit(resource as _, &mut current) != 0 {
                return Err(io::Error::last_os_error());
            }
            let hard = (hard as libc::rlim_t).min(current.rlim_max);
            let soft = (soft as libc::rlim_t).min(hard);
            if resource == libc::RLIMIT_NPROC as i32 && soft >= current.rlim_cur {
                continue;
            }
            let new = libc::rlimit { rlim_cur: soft, rlim_max: hard };
            if libc::setrlimit(resource as _, &new) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Writes `data` to a /proc file (best effort).
unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) {
    // SAFETY: `path` is NUL-terminated; `data` is valid for reads.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, data.as_ptr().cast(), data.len());
            libc::close(fd);
        }
    }
}

/// Brings `lo` up in the new network namespace, so that programs can still talk to
/// themselves over 127.0.0.1. True on success.
unsafe fn loopback_up() -> bool {
    // struct ifreq: 16-byte name, then a union whose first member is `short ifr_flags`.
    let mut ifreq = [0u8; 40];
    ifreq[..2].copy_from_slice(b"lo");
    // SAFETY: `ifreq` is large enough for `struct ifreq`; the socket is closed on every path.
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return false;
        }
        let mut ok = libc::ioctl(sock, libc::SIOCGIFFLAGS as _, ifreq.as_mut_ptr()) == 0;
        if ok {
            let flags = i16::from_ne_bytes([ifreq[16], ifreq[17]]) | libc::IFF_UP as i16;
            ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
            ok = libc::ioctl(sock, libc::SIOCSIFFLAGS as _, ifreq.as_mut_ptr()) == 0;
        }
        libc::close(sock);
        ok
    }
}

/// Relative, and made of plain names only (no `..`, no root, no `.`-only).
pub(crate) fn is_plain_relative(path: &Path) -> bool {
    path.components().count() > 0 && path.components().all(|c| matches!(c, Component::Normal(_)))
}

pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), SandboxError> {
    let error = |error| SandboxError::WriteFile { path: path.to_path_buf(), error };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    std::fs::write(path, contents).map_err(error)
}

/// The interpreter's absolute path, checked: it exists, is a file and is executable. A bare
/// name is looked up in `PATH`; a relative path is taken from the current directory.
pub fn resolve_interpreter(path: &Path) -> Result<PathBuf, SandboxError> {
    let not_found = |reason: String| SandboxError::InterpreterNotFound { path: path.to_path_buf(), reason };
    let is_bare = path.components().count() == 1
        && !path.as_os_str().is_empty()
        && matches!(path.components().next(), Some(Component::Normal(_)))
        && !path.as_os_str().as_encoded_bytes().contains(&b'/');
    if is_bare {
        let search = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
        for dir in std::env::split_paths(&search) {
            let candidate = dir.join(path);
            if check_executable(&candidate).is_ok() {
                return Ok(candidate);
            }
        }
        return Err(not_found("not found in PATH".to_string()));
    }
    check_executable(path).map_err(not_found)?;
    // The program runs in another directory: a relative path must be made absolute.
    std::path::absolute(path).map_err(|e| not_found(e.to_string()))
}

fn check_executable(path: &Path) -> Result<(), String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(if std::fs::symlink_metadata(path).is_ok() {
                "a symbolic link to a missing file".to_string()
            } else {
                "no such file".to_string()
            });
        }
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() {
        return Err("not a file".to_string());
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("not executable".to_string());
    }
    Ok(())
}

/// Removes a directory tree the program may have made hard to remove (read-only or
/// non-searchable subdirectories): makes every directory writable, then removes.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    fn unlock(dir: &Path) {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    unlock(&entry.path());
                }
            }
        }
    }
    if !path.exists() {
        return Ok(());
    }
    unlock(path);
    std::fs::remove_dir_all(path)
}
