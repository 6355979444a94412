use std::process::ExitCode;

use clap::Parser;
use gica_ocsp_server::{
    AppError, Service, admin,
    config::{Cli, Command, ServeSettings},
    demo,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gica-ocsp-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Serve(mut args) => {
            if args.demo {
                let dir = args
                    .demo_dir
                    .clone()
                    .unwrap_or_else(|| std::env::temp_dir().join("gica-ocsp-demo"));
                let listen = args
                    .listen
                    .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 3181)));
                let d = demo::make(&dir, &format!("http://{listen}")).await?;
                println!("demo PKI in {}", d.dir.display());
                println!("  issuer (CA):     {}", d.issuer.display());
                println!("  root:            {}", d.root.display());
                println!("  good leaf:       {}", d.good.display());
                println!("  revoked leaf:    {}", d.revoked.display());
                args.issuer = Some(d.issuer.clone());
                args.ca_key = Some(d.issuer_key.clone());
                args.responder_cert = Some(d.responder.clone());
                args.responder_key = Some(d.responder_key.clone());
                if args.db.is_none() {
                    args.db = Some(d.db.clone());
                }
            }
            let settings = ServeSettings::resolve(&args)?;
            gica_serve::init_tracing(settings.json_logs);
            let listen = settings.listen;
            let crypto = settings.crypto;
            let service = Service::start(settings).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| AppError::Io {
                    path: listen.to_string(),
                    source,
                })?;
            let addr = listener.local_addr().unwrap_or(listen);
            let shutdown = gica_serve::shutdown_signal();
            println!("listening on http://{addr}/ocsp");
            tracing::info!(%addr, %crypto, "gica-ocsp-server started");
            service
                .serve(listener, shutdown)
                .await
                .map_err(|source| AppError::Io {
                    path: addr.to_string(),
                    source,
                })
        }
        Command::ImportIndex(args) => {
            admin::import_index(&args, &mut std::io::stdout(), &mut std::io::stderr())
                .await
                .map(drop)
        }
        Command::Revoke(args) => admin::revoke(&args, &mut std::io::stdout()).await.map(drop),
        Command::Record(args) => admin::record(&args, &mut std::io::stdout()).await.map(drop),
        Command::Crl(args) => admin::crl(&args, &mut std::io::stdout()).await.map(drop),
    }
}
