//! The library's affected names, and how a resolved use in the code is matched against them.
//!
//! Names come from the update file's `apis:` list or, without one, from the identifiers of the
//! update text ([`AffectedNames::from_text`]). Each becomes one or more patterns:
//!
//! * **qualified** (`numpy.trapz`, `matplotlib.tri.triangulation`): a use whose resolved name
//!   is that name or lies inside it (`numpy.trapz`, `matplotlib.tri.triangulation.Triangulation`).
//!   Conventional aliases are expanded first (`np.trapz` → `numpy.trapz`, `jnp.round_` →
//!   `jax.numpy.round_`).
//! * **tail** (`barplot`, `model_selection.cross_val_predict`, `json_normalize`): a name not
//!   written from the root matches any resolved use *inside the library* that ends with it
//!   (`seaborn.barplot`, `sklearn.model_selection.cross_val_predict`) or passes through it
//!   (`scrapy.loader.processors.Identity` for the tail `loader.processors`).
//! * **member** (`DataFrame.append` → `append`): a method named on a class; the receiver's type
//!   is unknown statically, so any attribute `.append` whose receiver does not resolve to
//!   another import matches, in files that import the library. Over-approximate on purpose:
//!   the model then answers "unchanged" for a list's `append`.
//! * **keyword** (`fit_params`, `ci`): a keyword argument of a call into the library.
use std::collections::BTreeSet;

use crate::library::{Library, conventional_alias, is_dotted_identifier, is_identifier, is_other_known_root};

/// The patterns one affected name contributes, and the name as written (for reports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffectedNames {
    pub qualified: BTreeSet<String>,
    pub tails: BTreeSet<String>,
    pub members: BTreeSet<String>,
    pub keywords: BTreeSet<String>,
}

impl AffectedNames {
    /// True when nothing can match.
    pub fn is_empty(&self) -> bool {
        self.qualified.is_empty() && self.tails.is_empty() && self.members.is_empty() && self.keywords.is_empty()
    }

    /// Adds one name as written in an update file or text (`numpy.trapz`, `np.trapz`,
    /// `DataFrame.append`, `barplot`, `trapz()`). Returns false when it is not a name of
    /// `library` (a dotted name rooted at another known library, or not an identifier).
    pub fn add(&mut self, written: &str, library: &Library) -> bool {
        let name = written.trim().trim_end_matches("()").trim_matches('`').trim_end_matches('.');
        if !is_dotted_identifier(name) {
            return false;
        }
        let segments: Vec<&str> = name.split('.').collect();
        let first = segments[0];
        let expanded = if first == library.root {
            Some(name.to_string())
        } else {
            conventional_alias(first).map(|target| {
                std::iter::once(target).chain(segments[1..].iter().copied()).collect::<Vec<_>>().join(".")
            })
        };
        if let Some(qualified) = expanded {
            if !library.owns(&qualified) {
                return false;
            }
            // `pandas.DataFrame.append`: a method of a class, also reachable through instances.
            if let Some(member) = class_member(&qualified) {
                self.members.insert(member);
            }
            if qualified != library.root {
                self.qualified.insert(qualified);
            }
            return true;
        }
        if segments.len() > 1 && is_other_known_root(first, &library.root) {
            return false;
        }
        if let Some(member) = class_member(name) {
            self.members.insert(member);
        }
        if segments.len() == 1 {
            self.keywords.insert(name.to_string());
            // `lambdas_`, `fit_params`: clearly an API name, and often an attribute of an
            // object whose type is unknown statically (`kpca.lambdas_`).
            if name.contains('_') && name.trim_matches('_').len() > 1 {
                self.members.insert(name.to_string());
            }
        }
        self.tails.insert(name.to_string());
        true
    }

    /// Adds a name the text calls a method or writes as a call (`select()`): also a member.
    pub fn add_method(&mut self, written: &str, library: &Library) -> bool {
        let added = self.add(written, library);
        let name = written.trim().trim_end_matches("()");
        if added && is_identifier(name) {
            self.members.insert(name.to_string());
        }
        added
    }

    /// The names of `text` (a release note) that look like code, without those the text
    /// names as the replacement: see [`text_names`].
    pub fn from_text(text: &str, library: &Library) -> AffectedNames {
        let mut names = AffectedNames::default();
        for (name, method) in text_names(text, library) {
            if method {
                names.add_method(&name, library);
            } else {
                names.add(&name, library);
            }
        }
        names
    }

    /// Does a resolved use (`numpy.trapz`, a fully qualified dotted name) match?
    /// Returns the pattern that matched, for reports.
    pub fn match_qualified(&self, resolved: &str, library: &Library) -> Option<String> {
        if !library.owns(resolved) {
            return None;
        }
        for q in &self.qualified {
            if resolved == q || resolved.strip_prefix(q.as_str()).is_some_and(|rest| rest.starts_with('.')) {
                return Some(q.clone());
            }
        }
        let inner = &resolved[library.root.len()..]; // "" or ".a.b"
        for tail in &self.tails {
            let dotted = format!(".{tail}");
            if inner.ends_with(&dotted) || inner.contains(&format!("{dotted}.")) {
                return Some(tail.clone());
            }
        }
        None
    }
}

/// `Class.method` (a segment in CapWords followed by a lower-case one): the method's name.
fn class_member(name: &str) -> Option<String> {
    let segments: Vec<&str> = name.split('.').collect();
    let n = segments.len();
    if n >= 2 {
        let owner = segments[n - 2];
        let member = segments[n - 1];
        let capitalised = owner.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && owner.chars().any(|c| c.is_ascii_lowercase());
        let lower_member = member.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        if capitalised && lower_member {
            return Some(member.to_string());
        }
    }
    None
}

/// Words that introduce the *replacement* in a release note: names after them are new, not
/// affected (so running migrate on migrated code finds nothing to do).
const NEW_CUES: &[&str] = &[
    "call",
    "use",
    "uses",
    "using",
    "in favour of",
    "in favor of",
    "replaced by",
    "replaced with",
    "renamed",
    "moved to",
    "now called",
    "becomes",
    "become",
    "->",
    "→",
];
/// Words after which names are old again (`use B instead of A`: A is old).
const OLD_CUES: &[&str] = &["instead of", "rather than"];
/// Nouns that mark the word before them (or after `function`/`method`) as an API name even
/// when it is a plain lower-case word: `the ci parameter`, `the function simpson`.
const NAME_NOUNS: &[&str] =
    &["parameter", "argument", "keyword", "kwarg", "function", "method", "attribute", "module", "class", "option"];

/// The code-like names of a release note, minus those it names as replacements.
///
/// A name is taken when it is dotted (`np.trapz`, `DataFrame.append`), or a single word that
/// looks like code — it contains `_` or a digit, has an upper-case letter after the first
/// character (`DataFrame`), is in backticks, is followed by `(`, is possessive
/// (`violinplot's`), or sits next to a noun of [`NAME_NOUNS`] (`the ci parameter`). The
/// library's own names (`NumPy`, `numpy`) and version numbers are not names. Within a clause
/// (split at `;`, `:` and sentence ends), names after a replacement cue (`use`, `in favour
/// of`, `renamed`, `call`, …; not `use of`) are replacements, as are names before `is the …
/// replacement`; `instead of` switches back to old names. A name given as a replacement anywhere
/// is not affected.
///
/// Each name comes with whether the text calls it a method or writes it as a call
/// (`select()`, `the append method`): such a single word also matches as an attribute.
pub fn text_names(text: &str, library: &Library) -> Vec<(String, bool)> {
    let mut old: Vec<(String, bool)> = Vec::new();
    let mut new: BTreeSet<String> = BTreeSet::new();
    for clause in clauses(text) {
        let lower = clause.to_lowercase();
        let tokens = tokens(&clause);
        let replacement_before = lower.find(" is the ").filter(|at| lower[*at..].contains("replacement"));
        for (i, token) in tokens.iter().enumerate() {
            if !token.is_name(&tokens, i, library) {
                continue;
            }
            let before = &lower[..token.start];
            let last_new = NEW_CUES.iter().filter_map(|cue| rfind_word(before, cue)).max();
            let last_old = OLD_CUES.iter().filter_map(|cue| rfind_word(before, cue)).max();
            let is_new = match (last_new, last_old) {
                (Some(n), Some(o)) => n > o,
                (Some(_), None) => true,
                _ => false,
            } || replacement_before.is_some_and(|at| token.start < at);
            let method = !token.text.contains('.')
                && (token.call || tokens.get(i + 1).is_some_and(|n| n.text.eq_ignore_ascii_case("method")));
            if is_new {
                new.insert(token.text.clone());
            } else {
                match old.iter_mut().find(|(name, _)| *name == token.text) {
                    Some(entry) => entry.1 |= method,
                    None => old.push((token.text.clone(), method)),
                }
            }
        }
    }
    // A name the note gives as a replacement anywhere is new, even where it is described later
    // ("… in favor of torch.linalg.lstsq. … torch.linalg.lstsq returns …").
    old.retain(|(name, _)| !new.contains(name));
    old
}

/// Last position of `cue` in `text` as whole words (`use of`, the noun, is not the cue `use`).
fn rfind_word(text: &str, cue: &str) -> Option<usize> {
    let mut end = text.len();
    while let Some(at) = text[..end].rfind(cue) {
        let before_ok = at == 0 || !text[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = at + cue.len();
        let after_ok =
            after >= text.len() || !text[after..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let noun = text[after..].starts_with(" of ");
        if before_ok && after_ok && !noun {
            return Some(at);
        }
        end = at;
    }
    None
}

/// Clauses: split at `;`, `:`, newlines and sentence ends (`. ` / `.` at the end).
fn clauses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let sentence_end = c == '.' && next.is_none_or(|n| n.is_whitespace());
        if c == ';' || (c == ':' && next.is_none_or(|n| n.is_whitespace())) || c == '\n' || sentence_end {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out.retain(|c| !c.trim().is_empty());
    out
}

#[derive(Debug)]
struct Token {
    text: String,
    /// Byte offset in the (lower-cased) clause; lower-casing keeps ASCII offsets, and names are ASCII.
    start: usize,
    backticked: bool,
    call: bool,
    possessive: bool,
}

impl Token {
    fn is_name(&self, tokens: &[Token], i: usize, library: &Library) -> bool {
        let t = &self.text;
        if !is_dotted_identifier(t) {
            return false;
        }
        let segments: Vec<&str> = t.split('.').collect();
        if segments.len() > 1 {
            // `e.g`, `i.e`: every segment one letter.
            return segments.iter().any(|s| s.len() > 1);
        }
        let lower = t.to_ascii_lowercase();
        if lower == library.root || lower == library.display.to_ascii_lowercase() || is_other_known_root(&lower, "") {
            return false;
        }
        if KNOWN_PROSE.contains(&lower.as_str()) {
            return false;
        }
        let code_like = t.contains('_')
            || t.chars().any(|c| c.is_ascii_digit())
            || t.chars().skip(1).any(|c| c.is_ascii_uppercase()) && t.chars().any(|c| c.is_ascii_lowercase());
        let noun_next = tokens.get(i + 1).is_some_and(|n| NAME_NOUNS.contains(&n.text.to_ascii_lowercase().as_str()));
        let noun_before = i > 0
            && matches!(
                tokens[i - 1].text.to_ascii_lowercase().as_str(),
                "function" | "method" | "parameter" | "keyword"
            );
        is_identifier(t) && (code_like || self.backticked || self.call || self.possessive || noun_next || noun_before)
    }
}

/// Words that look like code by the rules above but are prose in release notes.
const KNOWN_PROSE: &[&str] =
    &["numpy", "scipy", "pytorch", "matplotlib", "scikit", "jax", "pandas", "seaborn", "scrapy", "api", "apis"];

/// Dotted-identifier-ish tokens of a clause with what surrounds them.
fn tokens(clause: &str) -> Vec<Token> {
    let bytes = clause.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
                i += 1;
            }
            let mut text = &clause[start..i];
            text = text.trim_end_matches('.');
            let end = start + text.len();
            let backticked = start > 0 && bytes[start - 1] == b'`';
            let rest = &clause[end..];
            let call = rest.starts_with('(');
            let possessive = rest.starts_with("'s") || rest.starts_with("\u{2019}s");
            out.push(Token { text: text.to_string(), start, backticked, call, possessive });
        } else {
            i += clause[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(name: &str) -> Library {
        Library::resolve(name).unwrap()
    }

    #[test]
    fn aliases_in_notes_expand_and_replacements_are_left_out() {
        let np = lib("numpy");
        let names = AffectedNames::from_text(
            "np.trapz has been deprecated in NumPy 2.0; use np.trapezoid (same arguments, including dx= and axis=).",
            &np,
        );
        assert_eq!(names.qualified.iter().collect::<Vec<_>>(), ["numpy.trapz"]);
        let jax = lib("jax");
        let names = AffectedNames::from_text(
            "jnp.round_ was removed in JAX 0.4.38 (deprecated since 0.4.32); jnp.round is the drop-in replacement.",
            &jax,
        );
        assert_eq!(names.qualified.iter().collect::<Vec<_>>(), ["jax.numpy.round_"]);
    }

    #[test]
    fn plain_words_count_next_to_name_nouns_and_other_libraries_do_not() {
        let sns = lib("seaborn");
        let names = AffectedNames::from_text(
            "The ci parameter of barplot is deprecated in favour of errorbar. np.mean is used.",
            &sns,
        );
        assert!(names.keywords.contains("ci"));
        assert!(!names.tails.contains("errorbar"), "{names:?}");
        assert!(!names.tails.iter().any(|t| t.contains("mean")), "{names:?}");
    }

    #[test]
    fn underscored_words_and_methods_are_members_and_renames_are_new() {
        let sk = lib("scikit-learn");
        let names = AffectedNames::from_text(
            "The KernelPCA attributes lambdas_ and alphas_ are deprecated in 1.0. They were renamed eigenvalues_ and eigenvectors_.",
            &sk,
        );
        assert!(names.members.contains("lambdas_") && names.members.contains("alphas_"), "{names:?}");
        assert!(!names.members.contains("eigenvalues_"), "{names:?}");
        let scrapy = lib("scrapy");
        let names = AffectedNames::from_text(
            "HtmlXPathSelector was removed, together with the select() method. Use scrapy.Selector and its xpath() method.",
            &scrapy,
        );
        assert!(names.members.contains("select"), "{names:?}");
        assert!(!names.members.contains("xpath") && !names.qualified.contains("scrapy.Selector"), "{names:?}");
    }

    #[test]
    fn a_replacement_described_later_stays_new_and_use_of_is_not_a_cue() {
        let torch = lib("torch");
        let names = AffectedNames::from_text(
            "torch.lstsq(B, A) is deprecated in favor of torch.linalg.lstsq(A, B). The order is swapped, and torch.linalg.lstsq returns a tuple.",
            &torch,
        );
        assert_eq!(names.qualified.iter().collect::<Vec<_>>(), ["torch.lstsq"]);
        let np = lib("numpy");
        let names = AffectedNames::from_text("Use of np.float is deprecated; call float instead.", &np);
        assert_eq!(names.qualified.iter().collect::<Vec<_>>(), ["numpy.float"]);
    }

    #[test]
    fn class_methods_become_members() {
        let pd = lib("pandas");
        let mut names = AffectedNames::default();
        assert!(names.add("pd.DataFrame.append", &pd));
        assert!(names.members.contains("append"));
        assert!(names.qualified.contains("pandas.DataFrame.append"));
        assert!(!names.add("numpy.trapz", &pd));
    }

    #[test]
    fn qualified_and_tail_matching() {
        let np = lib("numpy");
        let mut names = AffectedNames::default();
        names.add("numpy.trapz", &np);
        names.add("linalg.lstsq", &np);
        assert!(names.match_qualified("numpy.trapz", &np).is_some());
        assert!(names.match_qualified("numpy.trapz.__doc__", &np).is_some());
        assert!(names.match_qualified("numpy.trapzoid", &np).is_none());
        assert!(names.match_qualified("numpy.linalg.lstsq", &np).is_some());
        assert!(names.match_qualified("scipy.linalg.lstsq", &np).is_none());
    }
}
