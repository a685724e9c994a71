//! `recode data …`
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(clap::Subcommand)]
enum DataCommand {
    /// Export items for another trainer (verl Parquet, TRL JSONL).
    Export(super::export::ExportArgs),
}

pub fn run(args: DataArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DataCommand::Export(args) => super::export::run(args),
    }
}
