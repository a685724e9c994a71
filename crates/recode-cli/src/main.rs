//! `recode`: teach code LLMs new library APIs with reinforcement learning.

mod commands;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "recode", version, about = "Teach code LLMs new library APIs with RL (ReCode).")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with ReCode-format data: validate, stats, split, prompt, export.
    Data(commands::data::DataArgs),
    /// Score completions against targets with the ReCode rewards.
    Reward(commands::reward::RewardArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => commands::data::run(args),
        Command::Reward(args) => commands::reward::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
