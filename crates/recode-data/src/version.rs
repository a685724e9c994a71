//! The `new_version` format.

/// True when `new_version` has the form this crate accepts:
///
/// ```text
/// ==N(.N)*[{a|b|rc}N][.postN][.devN]      N = one or more ASCII digits
/// ```
///
/// i.e. `==` then a release number of one or more dot-separated numeric segments (`==1.0`,
/// `==2.2.0`, `==0.13.2`), optionally followed by a PEP 440 pre-release (`==2.0.0rc1`,
/// `==1.4b2`), a post-release (`==1.0.post1`) and a development release (`==2.1.dev3`), in that
/// order, lower case, with no separators other than the ones shown. Nothing else is accepted:
/// no spaces, no leading `v`, no `=`/`>=`, no local versions (`+cpu`), no wildcards.
pub fn is_valid_version(new_version: &str) -> bool {
    let Some(mut rest) = new_version.strip_prefix("==") else {
        return false;
    };
    // Release segments.
    loop {
        let Some(after) = digits(rest) else {
            return false;
        };
        rest = after;
        match rest.strip_prefix('.') {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => rest = after,
            _ => break,
        }
    }
    for prefix in ["rc", "a", "b"] {
        if let Some(after) = rest.strip_prefix(prefix) {
            match digits(after) {
                Some(after) => {
                    rest = after;
                    break;
                }
                None => return false,
            }
        }
    }
    for prefix in [".post", ".dev"] {
        if let Some(after) = rest.strip_prefix(prefix) {
            match digits(after) {
                Some(after) => rest = after,
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// Strips one or more leading ASCII digits; `None` when there are none.
fn digits(s: &str) -> Option<&str> {
    let rest = s.trim_start_matches(|c: char| c.is_ascii_digit());
    (rest.len() < s.len()).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::is_valid_version;

    #[test]
    fn accepted() {
        for v in [
            "==1",
            "==1.0",
            "==2.2.0",
            "==0.13.2",
            "==10.20.30.40",
            "==2.0.0rc1",
            "==1.4b2",
            "==1.4a10",
            "==1.0.post1",
            "==2.1.dev3",
            "==2.0rc1.post2.dev3",
        ] {
            assert!(is_valid_version(v), "{v}");
        }
    }

    #[test]
    fn rejected() {
        for v in [
            "",
            "=",
            "==",
            "2.2.0",
            "=2.2.0",
            ">=2.2.0",
            "== 2.2.0",
            "==2.2.0 ",
            "==v2.2.0",
            "==2.",
            "==.2",
            "==2..0",
            "==2.x",
            "==2.2.*",
            "==2.0rc",
            "==2.0.rc1",
            "==2.0RC1",
            "==2.0+cpu",
            "==2.0.post",
            "==2.0.dev",
            "==2.0.dev1.post1",
            "==٣.1",
        ] {
            assert!(!is_valid_version(v), "{v:?}");
        }
    }
}
