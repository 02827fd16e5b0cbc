//! The `graphreach` command-line tool. `main` only maps errors to messages and exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything else, while this is the only thread: keeps GPU probing from printing
    // library noise such as "error: XDG_RUNTIME_DIR is invalid or not set".
    graphreach::cli::runtime_dir::ensure_runtime_dir();
    let cli = graphreach::cli::parse();
    match graphreach::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
