//! Which library is being migrated: its import root, the name the training prompt shows, and
//! the conventional aliases that release notes use (`np.trapz` means `numpy.trapz`).
use crate::MigrateError;

/// A library as the migration sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The name shown to the model as `{dependency}` in the training prompt, spelled as in the
    /// training data (`Numpy`, `Scikit-Learn`, `PyTorch`), or as the user typed it.
    pub display: String,
    /// The top-level import name: `numpy`, `sklearn`, `torch`.
    pub root: String,
}

/// Libraries of the training data: accepted spellings (compared case-insensitively), the
/// training data's display name, the import root.
const KNOWN: &[(&[&str], &str, &str)] = &[
    (&["numpy", "np"], "Numpy", "numpy"),
    (&["pandas", "pd"], "Pandas", "pandas"),
    (&["torch", "pytorch"], "PyTorch", "torch"),
    (&["matplotlib", "mpl"], "Matplotlib", "matplotlib"),
    (&["scikit-learn", "scikit_learn", "sklearn"], "Scikit-Learn", "sklearn"),
    (&["scipy"], "SciPy", "scipy"),
    (&["scrapy"], "Scrapy", "scrapy"),
    (&["seaborn", "sns"], "Seaborn", "seaborn"),
    (&["jax"], "JAX", "jax"),
];

/// Conventional import aliases used in release notes and code: alias → qualified module.
pub const CONVENTIONAL_ALIASES: &[(&str, &str)] = &[
    ("np", "numpy"),
    ("pd", "pandas"),
    ("plt", "matplotlib.pyplot"),
    ("mpl", "matplotlib"),
    ("sns", "seaborn"),
    ("jnp", "jax.numpy"),
    ("nn", "torch.nn"),
    ("F", "torch.nn.functional"),
    ("tf", "tensorflow"),
];

impl Library {
    /// Resolves `--library NAME`: a library of the training data under any usual spelling
    /// (`numpy`, `Numpy`, `scikit-learn`, `PyTorch`), or any other importable dotted name
    /// (`requests`, `attr`), which is used as given. Anything else is an
    /// [`MigrateError::UnknownLibrary`].
    pub fn resolve(name: &str) -> Result<Library, MigrateError> {
        let trimmed = name.trim();
        let lower = trimmed.to_ascii_lowercase();
        for (spellings, display, root) in KNOWN {
            if spellings.contains(&lower.as_str()) || display.eq_ignore_ascii_case(trimmed) {
                return Ok(Library { display: display.to_string(), root: root.to_string() });
            }
        }
        if is_dotted_identifier(trimmed) {
            let root = trimmed.split('.').next().unwrap_or(trimmed).to_string();
            return Ok(Library { display: trimmed.to_string(), root });
        }
        Err(MigrateError::UnknownLibrary {
            name: name.to_string(),
            hint: "expected a library of the training data (numpy, pandas, torch, matplotlib, scikit-learn, \
                   scipy, scrapy, seaborn, jax) or the library's import name (a Python identifier, e.g. `requests`)"
                .to_string(),
        })
    }

    /// True when `qualified` is the root or a name inside it.
    pub fn owns(&self, qualified: &str) -> bool {
        qualified == self.root || qualified.strip_prefix(&self.root).is_some_and(|rest| rest.starts_with('.'))
    }
}

/// The qualified module a conventional alias stands for (`jnp` → `jax.numpy`).
pub fn conventional_alias(name: &str) -> Option<&'static str> {
    CONVENTIONAL_ALIASES.iter().find(|(alias, _)| *alias == name).map(|(_, target)| *target)
}

/// True when the import root of one of the known libraries (other than `root`) is `name`.
pub fn is_other_known_root(name: &str, root: &str) -> bool {
    name != root && KNOWN.iter().any(|(_, _, r)| *r == name)
}

/// A Python identifier (ASCII letters, digits, `_`, not starting with a digit).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_ascii_alphabetic() => chars.all(|c| c == '_' || c.is_ascii_alphanumeric()),
        _ => false,
    }
}

/// Identifiers joined by dots: `numpy.linalg.norm`.
pub fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_spellings_map_to_the_training_display_name() {
        assert_eq!(
            Library::resolve("scikit-learn").unwrap(),
            Library { display: "Scikit-Learn".into(), root: "sklearn".into() }
        );
        assert_eq!(Library::resolve("Numpy").unwrap().root, "numpy");
        assert_eq!(Library::resolve("PyTorch").unwrap().root, "torch");
        assert_eq!(
            Library::resolve("requests").unwrap(),
            Library { display: "requests".into(), root: "requests".into() }
        );
    }

    #[test]
    fn names_that_cannot_be_imported_are_unknown() {
        for bad in ["", "my-lib", "2fast", "a b"] {
            assert!(matches!(Library::resolve(bad), Err(MigrateError::UnknownLibrary { .. })), "{bad}");
        }
    }

    #[test]
    fn owns_only_names_under_the_root() {
        let np = Library::resolve("numpy").unwrap();
        assert!(np.owns("numpy") && np.owns("numpy.trapz"));
        assert!(!np.owns("numpyx.trapz") && !np.owns("jax.numpy"));
    }
}
