//! `authd`: the token server. `authd --help` lists the flags; the crate README has a
//! walk-through.
#![forbid(unsafe_code)]

mod cli;
mod config;
mod serve;
mod user;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, ServeOnly, UserCommand};
use crate::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Some(Command::User(UserCommand::Add(args))) => user::add(&args),
        Some(Command::Serve(args)) => serve(*args),
        None => serve(ServeOnly::parse_from(["authd"]).args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authd: error: {}", serve::chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

fn serve(args: cli::ServeArgs) -> Result<(), BoxError> {
    let settings = Settings::resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve::run(settings))?;
    Ok(())
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
