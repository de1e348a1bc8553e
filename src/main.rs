use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    lightsout::cli::run(lightsout::cli::Cli::parse()).await
}
