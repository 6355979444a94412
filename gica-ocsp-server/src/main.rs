use std::{process::ExitCode, time::SystemTime};

use clap::Parser;
use gica_ocsp_server::{
    AppError, Service,
    config::{Cli, Command, ServeSettings, parse_duration, parse_rfc3339},
    demo, issuer_id, load_cert, load_key,
    store::{AnyStore, RevocationStore, RevokeOutcome},
};
use gica_pki::CrlReason;

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

fn bad(msg: String) -> AppError {
    AppError::Config(gica_ocsp_server::config::ConfigError(msg))
}

/// A hex serial as its positive magnitude (no leading zero octets).
fn serial_bytes(hex_serial: &str) -> Result<Vec<u8>, AppError> {
    let s = hex_serial.trim().trim_start_matches("0x").replace(':', "");
    let s = if s.len() % 2 == 1 { format!("0{s}") } else { s };
    let mut v = hex::decode(&s).map_err(|_| bad(format!("--serial {hex_serial:?} is not hex")))?;
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    if v.is_empty() || v.len() > 20 {
        return Err(bad(format!(
            "--serial {hex_serial:?}: a serial is 1 to 20 octets and not zero"
        )));
    }
    Ok(v)
}

async fn run(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Serve(mut args) => {
            if args.demo {
                let dir = args
                    .demo_dir
                    .clone()
                    .unwrap_or_else(|| std::env::temp_dir().join("gica-ocsp-demo"));
                let d = demo::make(&dir).await?;
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
            let service = Service::start(settings).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|source| AppError::Io {
                    path: listen.to_string(),
                    source,
                })?;
            let addr = listener.local_addr().unwrap_or(listen);
            println!("listening on http://{addr}/ocsp");
            tracing::info!(%addr, "gica-ocsp-server started");
            service
                .serve(listener, gica_serve::shutdown_signal())
                .await
                .map_err(|source| AppError::Io {
                    path: addr.to_string(),
                    source,
                })
        }
        Command::ImportIndex(args) => {
            let issuer = load_cert(&args.issuer)?;
            let store = AnyStore::connect(&args.db).await?;
            let summary = gica_ocsp_server::index::import_index(
                &store,
                &args.index,
                &issuer_id(&issuer),
                !args.quiet,
            )
            .await
            .map_err(|e| bad(e.to_string()))?;
            for (line, why) in &summary.malformed {
                eprintln!("{}:{line}: {why}", args.index.display());
            }
            println!(
                "imported {}, skipped {}, malformed {}",
                summary.imported,
                summary.skipped,
                summary.malformed.len()
            );
            Ok(())
        }
        Command::Revoke(args) => {
            let issuer = load_cert(&args.issuer)?;
            let serial = serial_bytes(&args.serial)?;
            let reason = args
                .reason
                .as_deref()
                .map(|r| match CrlReason::from_name(r) {
                    // RFC 5280 5.3.1: removeFromCRL belongs to delta CRLs only.
                    Some(CrlReason::RemoveFromCrl) => Err(bad(
                        "--reason removeFromCRL is for delta CRLs, not a revocation".into(),
                    )),
                    Some(reason) => Ok(reason),
                    None => Err(bad(format!("--reason {r:?} is not a CRL reason"))),
                })
                .transpose()?;
            let time = args
                .time
                .as_deref()
                .map(parse_rfc3339)
                .transpose()?
                .unwrap_or_else(SystemTime::now);
            let invalidity = args
                .invalidity_date
                .as_deref()
                .map(parse_rfc3339)
                .transpose()?;
            let store = AnyStore::connect(&args.db).await?;
            match store
                .revoke(&issuer_id(&issuer), &serial, time, reason, invalidity)
                .await?
            {
                RevokeOutcome::Revoked => println!("revoked {}", hex::encode(&serial)),
                RevokeOutcome::AlreadyRevoked => {
                    println!("{} was already revoked; unchanged", hex::encode(&serial))
                }
            }
            Ok(())
        }
        Command::Record(args) => {
            let issuer = load_cert(&args.issuer)?;
            let id = issuer_id(&issuer);
            let store = AnyStore::connect(&args.db).await?;
            for path in &args.cert {
                let c = load_cert(path)?;
                if c.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
                    return Err(bad(format!(
                        "{} was not issued by {}",
                        path.display(),
                        args.issuer.display()
                    )));
                }
                let serial =
                    serial_bytes(&hex::encode(c.tbs_certificate().serial_number().as_bytes()))?;
                let not_after = c.tbs_certificate().validity().not_after.to_system_time();
                store.record_issued(&id, &serial, Some(not_after)).await?;
                println!("recorded {}", hex::encode(&serial));
            }
            Ok(())
        }
        Command::Crl(args) => {
            let issuer = load_cert(&args.issuer)?;
            let key = load_key(&args.ca_key)?;
            let next = parse_duration(args.next_update.as_deref().unwrap_or("24h"))?;
            let idp = args
                .crl_url
                .as_deref()
                .map(gica_ocsp_server::crl::idp_for_url)
                .transpose()
                .map_err(gica_ocsp_server::config::ConfigError)?;
            let store = AnyStore::connect(&args.db).await?;
            let id = issuer_id(&issuer);
            let crl = gica_ocsp_server::crl::generate(
                &store,
                &id,
                &issuer,
                key.as_ref(),
                next,
                idp.as_ref(),
            )
            .await?;
            std::fs::write(&args.out, &crl.der).map_err(|source| AppError::Io {
                path: args.out.display().to_string(),
                source,
            })?;
            println!("wrote {} ({} bytes)", args.out.display(), crl.der.len());
            // Responders sharing the store serve it from their next CRL check on.
            if store.publish_crl(&id, &crl).await? {
                println!("published CRL number {} for the responders", crl.number);
            } else {
                println!("not published: a CRL with a higher number is published already");
            }
            Ok(())
        }
    }
}
