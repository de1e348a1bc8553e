use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // In Lambda the runtime starts the binary with no arguments: run the handler.
    let cli =
        if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() && std::env::args_os().len() == 1 {
            lightsout::cli::Cli::parse_from(["lightsout", "lambda"])
        } else {
            lightsout::cli::Cli::parse()
        };
    lightsout::cli::run(cli).await
}
