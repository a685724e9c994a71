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
    /// Load, convert, fetch and merge models.
    Model(commands::model::Args),
    /// Generate completions with a local model.
    Generate(commands::generate::Args),
    /// Train an adapter with GRPO, DAPO or SFT.
    Train(commands::train::Args),
    /// Plot a training run's metrics.
    Plot(commands::plot::Args),
    /// Evaluate: CodeUpdateArena pass@k, in-domain migration, HumanEval.
    Eval(commands::eval::Args),
    /// Migrate Python files to a new library version with a model.
    Migrate(commands::migrate::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => commands::data::run(args),
        Command::Reward(args) => commands::reward::run(args),
        Command::Model(args) => commands::model::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Migrate(args) => commands::migrate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
