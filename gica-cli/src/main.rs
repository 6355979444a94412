//! `gica`: a command-line client for RFC 3161 time-stamps, OCSP, CRLs, certificate paths and
//! the device registry's signed receipts, built on `gica-pki`.
//!
//! Every verdict is on the first line of the output; `--json` prints one object for scripts.
//! Exit codes: 0 verified / good, 1 failed / revoked, 2 unknown, 3 usage or I/O error.
#![forbid(unsafe_code)]

mod cert;
mod cli;
mod crl;
mod fmt;
mod input;
mod net;
mod ocsp;
mod receipt;
mod report;
mod ts;

use std::{process::ExitCode, time::SystemTime};

use clap::{CommandFactory, Parser};

use crate::{
    cli::{CertCommand, Cli, Command, CrlCommand, OcspCommand, ReceiptCommand, TsCommand},
    net::Http,
    report::{CliError, Code, Report},
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors are exit 3, not clap's 2
            // (2 means "status unknown" here).
            let _ = e.print();
            return if e.use_stderr() {
                Code::Usage.into()
            } else {
                Code::Ok.into()
            };
        }
    };
    let http = Http::new(input::seconds(cli.timeout));
    let now = SystemTime::now();
    let result: Result<Report, CliError> = match &cli.command {
        Command::Ts(TsCommand::Request(a)) => ts::request(a, &http),
        Command::Ts(TsCommand::Verify(a)) => ts::verify(a, &http, now),
        Command::Ts(TsCommand::Show { token }) => ts::show(token),
        Command::Ocsp(OcspCommand::Check(a)) => ocsp::check(a, &http, now),
        Command::Crl(CrlCommand::Show { source, entries }) => crl::show(source, *entries, &http),
        Command::Crl(CrlCommand::Verify(a)) => crl::verify(a, &http, now),
        Command::Cert(CertCommand::Verify(a)) => cert::verify(a, &http, now),
        Command::Receipt(ReceiptCommand::Verify(a)) => receipt::verify(a, &http, now),
        Command::Receipt(ReceiptCommand::Show { file, entries }) => receipt::show(file, *entries),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "gica", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => report::emit(Err(CliError::Io(format!("stdout: {e}"))), cli.json),
            };
        }
    };
    report::emit(result, cli.json)
}
