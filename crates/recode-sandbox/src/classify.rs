//! Classifying how a run ended.
use std::fmt;

/// How a run ended, in one word.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Exit status 0.
    Ok,
    /// The wall-clock limit expired and the process group was killed.
    Timeout,
    /// Killed by a signal it did not survive (SIGXCPU: CPU limit; SIGKILL without a timeout:
    /// killed from outside, e.g. the OOM killer), with the signal's number.
    Killed(i32),
    /// A Python exception's type as the traceback's last line names it (`AttributeError`,
    /// `ModuleNotFoundError`, `AssertionError`, `SyntaxError`, `DeprecationWarning` when
    /// warnings are errors, `numpy.exceptions.AxisError`, …).
    Exception(String),
    /// A non-zero exit status without a recognisable traceback (`sys.exit(3)`, `os._exit`).
    Exit(i32),
}

impl ErrorClass {
    /// Whether the run succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, ErrorClass::Ok)
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::Ok => f.write_str("ok"),
            ErrorClass::Timeout => f.write_str("Timeout"),
            ErrorClass::Killed(signal) => write!(f, "Killed({})", signal_name(*signal)),
            ErrorClass::Exception(name) => f.write_str(name),
            ErrorClass::Exit(code) => write!(f, "Exit({code})"),
        }
    }
}

/// `SIGKILL`, `SIGXCPU`, … for the common signals; the number otherwise.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        _ => return signal.to_string(),
    };
    name.to_string()
}

/// The exception line of a Python traceback in `stderr`: `(type, line)`, e.g.
/// `("AttributeError", "AttributeError: module 'numpy' has no attribute 'float'")`.
///
/// The line is the first unindented line after the *last* `Traceback (most recent call
/// last):` header (so the final exception of a chain), or — for a `SyntaxError` in the main
/// script, which Python prints without a header — after the first `  File "…"` line. When
/// neither is present (the head of stderr was truncated away) the last unindented line that
/// looks like `Name: message` is used. The type is the dotted name before the first `:`.
pub fn python_exception(stderr: &str) -> Option<(String, String)> {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.trim_end() == "Traceback (most recent call last):")
        .map(|i| i + 1)
        .or_else(|| lines.iter().position(|l| l.starts_with("  File \"")));
    let candidate = match start {
        Some(start) => lines[start..]
            .iter()
            .find(|l| !l.is_empty() && !l.starts_with([' ', '\t']) && exception_type(l).is_some())
            .copied(),
        None => lines
            .iter()
            .rev()
            .find(|l| !l.starts_with([' ', '\t']) && exception_type(l).is_some() && l.contains(": "))
            .copied(),
    }?;
    let name = exception_type(candidate)?;
    Some((name.to_string(), candidate.trim_end().to_string()))
}

/// `Name` of a line `Name`, `Name:` or `Name: message`, where `Name` is a dotted Python
/// identifier (ASCII letters, digits, `_`).
fn exception_type(line: &str) -> Option<&str> {
    let line = line.trim_end();
    let name = match line.find(':') {
        Some(at) => {
            let rest = &line[at + 1..];
            if !(rest.is_empty() || rest.starts_with(' ')) {
                return None;
            }
            &line[..at]
        }
        None => line,
    };
    let ok = !name.is_empty()
        && name.split('.').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    ok.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_traceback() {
        let err = "Traceback (most recent call last):\n  File \"/tmp/x/main.py\", line 2, in <module>\n    np.float\n  File \"/numpy/__init__.py\", line 9, in __getattr__\n    raise AttributeError(msg)\nAttributeError: module 'numpy' has no attribute 'float'.\n`np.float` was a deprecated alias\n";
        assert_eq!(
            python_exception(err),
            Some((
                "AttributeError".to_string(),
                "AttributeError: module 'numpy' has no attribute 'float'.".to_string()
            ))
        );
    }

    #[test]
    fn chained_takes_last() {
        let err = "Traceback (most recent call last):\n  File \"a\", line 1\nKeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"a\", line 3\npandas.errors.InvalidIndexError: bad\n";
        let (name, line) = python_exception(err).unwrap();
        assert_eq!(name, "pandas.errors.InvalidIndexError");
        assert_eq!(line, "pandas.errors.InvalidIndexError: bad");
    }

    #[test]
    fn syntax_error_without_header() {
        let err = "  File \"/tmp/x/main.py\", line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n";
        assert_eq!(python_exception(err).unwrap().0, "SyntaxError");
    }

    #[test]
    fn bare_name_and_warning_lines() {
        let err = "/x/main.py:3: UserWarning: careful\n  warnings.warn('careful')\nTraceback (most recent call last):\n  File \"m\", line 1, in <module>\nAssertionError\n";
        assert_eq!(python_exception(err), Some(("AssertionError".to_string(), "AssertionError".to_string())));
        assert_eq!(python_exception("hello world\n"), None);
        assert_eq!(python_exception(""), None);
    }

    #[test]
    fn truncated_head() {
        let err = "…[100 bytes omitted]…\n    x()\nValueError: nope\n";
        assert_eq!(python_exception(err).unwrap().0, "ValueError");
    }

    #[test]
    fn display() {
        assert_eq!(ErrorClass::Killed(9).to_string(), "Killed(SIGKILL)");
        assert_eq!(ErrorClass::Killed(77).to_string(), "Killed(77)");
        assert_eq!(ErrorClass::Exit(3).to_string(), "Exit(3)");
        assert_eq!(ErrorClass::Timeout.to_string(), "Timeout");
        assert_eq!(ErrorClass::Exception("MemoryError".into()).to_string(), "MemoryError");
    }
}
