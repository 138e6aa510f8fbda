use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use qualys_mock::config::{Cli, Command};

/// The server allocates many small strings per record it renders; mimalloc handles that
/// pattern markedly better than the system allocator (see bench/run). The library leaves
/// the allocator to its user.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match qualys_mock::server::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qualys-mock: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve(args) => {
            let args = *args;
            if let Err(e) = args.check() {
                eprintln!("qualys-mock: {e}");
                return ExitCode::from(2);
            }
            // Held until the end of main: dropping it flushes the queued log lines.
            let _log = match qualys_mock::logging::init(
                &args.log,
                args.log_format,
                args.log_buffer_lines as usize,
            ) {
                Ok(guard) => guard,
                Err(e) => {
                    eprintln!("qualys-mock: cannot start logging: {e}");
                    return ExitCode::from(2);
                }
            };
            let outcome = runtime.block_on(qualys_mock::server::run(args));
            // Handlers still parked on a stalled client must not hold up the exit.
            runtime.shutdown_timeout(Duration::from_secs(1));
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("qualys-mock: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Generate(args) => match runtime.block_on(qualys_mock::generate::run(&args)) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("qualys-mock generate: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Record(args) => match runtime.block_on(qualys_mock::record::run(*args)) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("qualys-mock record: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Healthcheck(args) => {
            let timeout = Duration::from_secs(args.timeout);
            let url = match args.probe_url() {
                Ok(url) => url,
                Err(e) => {
                    eprintln!("qualys-mock healthcheck: {e}");
                    return ExitCode::from(2);
                }
            };
            match runtime.block_on(qualys_mock::healthcheck::probe(&url, timeout)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("qualys-mock healthcheck: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
