//! Runs untrusted programs (Python, mostly) in sandboxed child processes.
//!
//! * [`Sandbox`] runs a [`RunSpec`] — interpreter, program text, flags, arguments,
//!   environment — in its own process: a private temporary working directory (removed
//!   afterwards), a new session and process group (the whole group is killed with SIGKILL on
//!   timeout and after the main process exits), `setrlimit` limits ([`Limits`]: CPU time,
//!   address space, file size, processes; no core dumps), a wall-clock limit (15 s by
//!   default), stdout and stderr drained concurrently and capped ([`Captured`]), and a new
//!   network namespace where the platform allows it ([`NetworkPolicy`]; every
//!   [`RunOutput`] says whether isolation was in effect, and why not).
//! * [`RunOutput::error_class`] classifies the outcome ([`ErrorClass`]): `Ok`, `Timeout`,
//!   `Killed(signal)`, the Python exception type of the traceback, or `Exit(code)`.
//! * [`Sandbox::run_many`] and [`map_ordered`] run many jobs over N threads, results in input
//!   order, with a progress callback.
//! * [`ForkServer`]: a Python process per environment imports the heavy modules once and forks
//!   a child per program (own directory, limits, group, capped output, network namespace — and,
//!   as root, a pid namespace, read-only file systems outside the directory and a pids cgroup);
//!   [`Executor`] is what both modes implement, so harnesses can measure one against the other.
//!
//! Linux only (namespaces, pidfd, `pipe2`); on kernels without pidfd the exit is polled.

#[cfg(not(target_os = "linux"))]
compile_error!("recode-sandbox supports Linux only");

mod capture;
mod classify;
mod error;
mod forkserver;
mod pool;
mod run;
mod spec;

pub use capture::Captured;
pub use classify::{ErrorClass, python_exception, signal_name};
pub use error::SandboxError;
pub use forkserver::{Executor, ForkServer, ForkServerConfig, ForkServers, ServerInfo};
pub use pool::{Progress, default_jobs, map_ordered};
pub use run::{ExitStatus, RunOutput, Sandbox, resolve_interpreter};
pub use spec::{Limits, NetworkPolicy, RunSpec};
