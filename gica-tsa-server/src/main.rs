use std::{process::ExitCode, sync::Arc};

use clap::Parser;
use gica_tsa_server::{Args, Settings, SystemClock, TsaServer, demo};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut settings = match Settings::resolve(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gica-tsa-server: {e}");
            return ExitCode::from(2);
        }
    };
    gica_serve::init_tracing(settings.json_logs);
    if settings.demo {
        let dir = settings
            .demo_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("gica-tsa-demo"));
        let pki = match demo::make(&dir) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("gica-tsa-server: demo PKI: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("demo PKI in {}", pki.dir.display());
        println!("  trust anchor: {}", pki.root.display());
        println!("  chain:        {}", pki.chain.display());
        println!("  TSA cert:     {}", pki.cert.display());
        settings.cert = Some(pki.cert);
        settings.key = Some(pki.key);
        settings.chain = Some(pki.chain);
    }
    let server = match TsaServer::from_settings(&settings, Arc::new(SystemClock)) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("gica-tsa-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(settings.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gica-tsa-server: cannot listen on {}: {e}", settings.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map_or(settings.listen, |a| a);
    let shutdown = gica_serve::shutdown_signal();
    println!("listening on http://{addr}/tsa");
    tracing::info!(
        %addr,
        policy = %settings.policy,
        crypto = %settings.crypto,
        "gica-tsa-server started"
    );
    match server.serve(listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gica-tsa-server: {e}");
            ExitCode::FAILURE
        }
    }
}
