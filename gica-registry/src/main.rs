//! `gica-registry`: the device registry's server and commands.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gica_registry::cli::{Cli, CliError, Command, ServeSettings, run_admin};
use gica_registry::server::Server;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args).await,
        command => {
            gica_serve::init_tracing(false);
            run_admin(command, &mut std::io::stdout()).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gica-registry: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(mut args: gica_registry::cli::ServeArgs) -> Result<(), CliError> {
    let demo = if args.demo {
        let dir = args
            .demo_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("gica-registry-demo"));
        Some(gica_registry::demo::prepare(&dir, &mut args).await?)
    } else {
        None
    };
    let settings = ServeSettings::resolve(&args)?;
    gica_serve::init_tracing(settings.common.json_logs);
    let registry = settings.registry().await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| CliError::Io {
            path: settings.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(settings.listen);
    let shutdown = gica_serve::shutdown_signal();
    if let Some(demo) = &demo {
        demo.print_examples(addr, &mut std::io::stdout())
            .map_err(|source| CliError::Io {
                path: "stdout".into(),
                source,
            })?;
    }
    println!("listening on http://{addr}/v1");
    tracing::info!(%addr, db = %gica_registry::cli::redact_url(&settings.db), "gica-registry started");
    let server = Arc::new(Server::new(registry, settings.common.limits));
    let result = server
        .serve(listener, shutdown)
        .await
        .map_err(|source| CliError::Io {
            path: addr.to_string(),
            source,
        });
    if let Some(demo) = demo {
        demo.stop().await;
    }
    result
}
