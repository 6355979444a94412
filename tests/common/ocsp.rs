//! OCSP helpers: a seeded revocation store, gica-ocsp-server in process, and `openssl ocsp
//! -index` as a responder.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, SystemTime},
};

use gica_ocsp_server::{
    Service,
    config::{ServeArgs, ServeSettings},
    issuer_id,
    store::{AnyStore, RevocationWriter},
};
use gica_pki::{CrlReason, x509_cert::Certificate};

use super::{TestServer, fixture, fixture_str};

/// The first certificate of a fixture PEM file.
pub fn cert(rel: &str) -> Certificate {
    gica_pki::cert::load_pem_certs(&std::fs::read_to_string(fixture(rel)).expect("read"))
        .expect("pem")
        .remove(0)
}

/// A certificate's serial without sign-padding zeros.
pub fn magnitude(c: &Certificate) -> Vec<u8> {
    let s = c.tbs_certificate().serial_number().as_bytes();
    s[s.iter().take_while(|b| **b == 0).count()..].to_vec()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt")
        .block_on(f)
}

/// When tsa-rsa was revoked in [`seeded_db`] (2023-11-14T22:13:20Z).
pub const REVOKED_AT: u64 = 1_700_000_000;

/// A store with tsa-p256 good, tsa-rsa revoked (keyCompromise), tsa-p384 never issued.
pub fn seeded_db(dir: &Path) -> String {
    seeded_db_with(dir, &[])
}

/// [`seeded_db`], with more int-ca serials (magnitudes) recorded as issued and good.
pub fn seeded_db_with(dir: &Path, more_issued: &[Vec<u8>]) -> String {
    let url = format!("sqlite:{}", dir.join("ocsp.db").display());
    let issuer = issuer_id(&cert("pki/int-ca.pem"));
    block_on(async {
        let store = AnyStore::connect(&url).await.expect("store");
        let mut issued = vec![
            magnitude(&cert("pki/tsa-p256.pem")),
            magnitude(&cert("pki/tsa-rsa.pem")),
        ];
        issued.extend_from_slice(more_issued);
        for serial in &issued {
            store
                .record_issued(&issuer, serial, None)
                .await
                .expect("record");
        }
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(REVOKED_AT);
        store
            .revoke(
                &issuer,
                &magnitude(&cert("pki/tsa-rsa.pem")),
                at,
                Some(CrlReason::KeyCompromise),
                None,
            )
            .await
            .expect("revoke");
    });
    url
}

/// gica-ocsp-server for int-ca on 127.0.0.1:0 over the store at `db`; OCSP at `/ocsp`, the
/// CRL at `/crl/int-ca.crl` (unless `extra` renames it).
pub fn start_ocsp(db: &str, extra: impl FnOnce(&mut ServeArgs)) -> TestServer {
    let mut args = ServeArgs {
        db: Some(db.to_string()),
        issuer: Some(fixture("pki/int-ca.pem")),
        ca_key: Some(fixture("pki/int-ca.key")),
        ..Default::default()
    };
    extra(&mut args);
    let settings = ServeSettings::resolve(&args).expect("settings");
    TestServer::spawn(move |listener, shutdown| async move {
        let service = Service::start(settings).await.expect("service");
        service
            .serve(listener, async {
                let _ = shutdown.await;
            })
            .await
            .expect("serve");
    })
}

/// An openssl CA index (for `openssl ocsp -index`): tsa-rsa revoked (keyCompromise,
/// 2023-11-14T22:13:20Z), tsa-p256 valid.
pub fn openssl_index(dir: &Path) -> std::path::PathBuf {
    let index = dir.join("index.txt");
    std::fs::write(
        &index,
        format!(
            "R\t360101000000Z\t231114221320Z,keyCompromise\t{}\tunknown\t/CN=rsa\nV\t360101000000Z\t\t{}\tunknown\t/CN=p256\n",
            hex::encode_upper(magnitude(&cert("pki/tsa-rsa.pem"))),
            hex::encode_upper(magnitude(&cert("pki/tsa-p256.pem")))
        ),
    )
    .expect("index");
    index
}

/// `openssl ocsp -index` answering for int-ca (signed by int-ca, nextUpdate 10 minutes on);
/// killed on drop.
pub struct OpensslResponder {
    pub port: u16,
    child: Child,
}

impl OpensslResponder {
    pub fn start(index: &Path) -> Self {
        // A free port: bind and release it (openssl takes a port number only).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut child = Command::new("openssl")
            .args([
                "ocsp",
                "-index",
                index.to_str().expect("utf-8"),
                "-port",
                &port.to_string(),
                "-rsigner",
                &fixture_str("pki/int-ca.pem"),
                "-rkey",
                &fixture_str("pki/int-ca.key"),
                "-CA",
                &fixture_str("pki/int-ca.pem"),
                "-ignore_err",
                "-nmin",
                "10",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl responder");
        // Wait until openssl says it is listening (it prints ACCEPT once bound); no fixed sleep.
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("ACCEPT") || l.contains("waiting") => break,
                Some(Ok(_)) => continue,
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("openssl ocsp responder did not start");
                }
            }
        }
        // Keep reading: a closed pipe would kill openssl at its next log line.
        std::thread::spawn(move || lines.for_each(drop));
        Self { port, child }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for OpensslResponder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
