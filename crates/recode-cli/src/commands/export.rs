//! `recode data export FILE --format verl|trl --out PATH`
//!
//! Reads a ReCode JSONL file strictly (the first structural problem is an error naming
//! `FILE:LINE`), then writes the whole export atomically. Exit 0 on success, 2 on any error
//! (reported by `main` as `error: …`); on error the output path is left as it was.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

/// Shown by `recode data export --help` (the one-line summary is the subcommand's, in
/// `data.rs`).
const LONG_HELP: &str = "\
Formats:
  verl  Parquet, one row per item: data_source (recode/<dependency in lower case>),
        prompt (the three spec 3.1 messages: system, user, and the prefilled assistant
        message 'Let me solve this step by step.\\n<think>'), ability (code-migration),
        reward_model {style: rule, ground_truth: new_code}, extra_info {index, id,
        dependency, new_version, update_type, source}.
        verl renders prompt with tokenizer.apply_chat_template(..., add_generation_prompt=True);
        install the template written by --chat-template-out as the tokenizer's chat_template
        so that the assistant prefill is left open, exactly as in spec 3.1.
  trl   JSONL, one line per item: {\"prompt\": the rendered spec 3.1 prompt, \"target\": new_code,
        \"id\": id (when present)}, for TRL's GRPOTrainer (reward functions get target=...).

The input is read strictly (the first structural problem is an error naming FILE:LINE; run
`recode data validate` for content checks). The output is written atomically: on any error
it is left as it was. Exit status: 0 success, 2 error.";

#[derive(clap::Args)]
#[command(after_long_help = LONG_HELP)]
pub struct ExportArgs {
    /// ReCode JSONL file to export.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Output file (written atomically; its directory must exist).
    #[arg(long, short = 'o', visible_alias = "output", value_name = "PATH")]
    pub out: PathBuf,
    /// verl only: also write the Jinja chat template that renders `prompt` as the §3.1 text.
    #[arg(long, value_name = "PATH")]
    pub chat_template_out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Parquet for verl's RLHFDataset.
    Verl,
    /// JSONL (`prompt`, `target`, `id`) for TRL's GRPOTrainer.
    Trl,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.chat_template_out.is_some() && args.format != Format::Verl {
        bail!("--chat-template-out is only meaningful with --format verl");
    }
    let items = recode_data::read_jsonl(&args.input)?;
    if items.is_empty() {
        bail!("{}: no items to export", args.input.display());
    }
    let what = match args.format {
        Format::Verl => {
            recode_export::export_verl(&items, &args.out)?;
            "verl Parquet"
        }
        Format::Trl => {
            recode_export::export_trl(&items, &args.out)?;
            "TRL JSONL"
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} ({what}, {} item{})",
        args.out.display(),
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    )?;
    if let Some(path) = &args.chat_template_out {
        recode_export::write_chat_template(path)
            .with_context(|| "the export was written, but the chat template was not")?;
        writeln!(out, "wrote {} (chat template)", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
