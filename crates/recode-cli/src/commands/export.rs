//! `recode data export …`
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ExportArgs {}

pub fn run(_args: ExportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("export is not implemented yet")
}
