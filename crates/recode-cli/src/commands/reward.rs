//! `recode reward …`
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RewardArgs {}

pub fn run(_args: RewardArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("reward is not implemented yet")
}
