//! `TsaClient` against a real in-process gica-tsa-server, and against small servers that
//! misbehave: silent, refusing connections, HTTP 500, garbage, oversized bodies, replies to
//! another request or without the TSA certificate.
//!
//! No test waits on a timer except the time-out test, whose point is the time-out; every
//! other wait is bounded by the client's own time-out.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use gica_pki::{
    DigestAlgorithm, SignerOptions, SoftwareSigner, cert,
    der::{Decode, Encode},
    oid,
    proof::{ProofSigner, ProofVerifier},
    tsp::{
        Authority, AuthorityConfig, Expectation, FailureInfo, PkiStatus, TimeStampReq,
        TokenVerifier, TstSerial, VerifyError,
    },
    x509_cert::Certificate,
};
use gica_serve::{
    Limits, respond, serve, text,
    tsa_client::{MAX_REPLY, TsaClient, TsaClientError},
};
use gica_tsa_server::{SystemClock, TsaServer};
use hyper::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::oneshot,
};

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
/// The client's time-out in every test: far above what a local exchange takes.
const TIMEOUT: Duration = Duration::from_secs(20);

fn fixture(rel: &str) -> String {
    let p = format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn certs(rel: &str) -> Vec<Certificate> {
    cert::load_pem_certs(&fixture(rel)).expect("certs")
}

fn key(rel: &str) -> SoftwareSigner {
    SoftwareSigner::from_pem(&fixture(rel), SignerOptions::default()).expect("key")
}

fn authority(tweak: impl FnOnce(&mut AuthorityConfig)) -> Authority {
    let mut config = AuthorityConfig::new(POLICY.parse().expect("oid"));
    config.chain = certs("pki/chain.pem");
    tweak(&mut config);
    Authority::new(
        certs("pki/tsa-p256.pem").remove(0),
        Arc::new(key("pki/tsa-p256.key")),
        config,
    )
    .expect("authority")
}

/// A running server; it stops when this is dropped.
struct Running {
    url: String,
    _stop: oneshot::Sender<()>,
}

/// The real TSA server on 127.0.0.1:0.
async fn real_tsa(tweak: impl FnOnce(&mut AuthorityConfig)) -> Running {
    let server = TsaServer::new(
        authority(tweak),
        Limits::default(),
        1,
        Arc::new(SystemClock),
    )
    .expect("server");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Arc::new(server).serve(listener, async {
        let _ = stopped.await;
    }));
    Running {
        url: format!("http://{addr}/tsa"),
        _stop: stop,
    }
}

/// A server answering every request with what `answer` makes of the request body.
async fn fake_tsa<F>(answer: F) -> Running
where
    F: Fn(Bytes) -> gica_serve::HttpResponse + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let answer = Arc::new(answer);
    tokio::spawn(serve(
        listener,
        Limits::default(),
        move |req, _peer| {
            let answer = answer.clone();
            async move {
                let body = gica_serve::read_body(req, &Limits::default())
                    .await
                    .unwrap_or_default();
                answer(body)
            }
        },
        async {
            let _ = stopped.await;
        },
    ));
    Running {
        url: format!("http://{addr}/tsa"),
        _stop: stop,
    }
}

/// A raw TCP server: reads the request head, then writes `head` and `chunks` chunks of
/// 64 KiB in chunked transfer coding, stopping when the client goes.
async fn chunked_server(chunks: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nTransfer-Encoding: chunked\r\n\r\n";
                if s.write_all(head).await.is_err() {
                    return;
                }
                let chunk = [b"10000\r\n".as_slice(), &[0x30; 0x10000], b"\r\n"].concat();
                for _ in 0..chunks {
                    if s.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    addr
}

fn client(url: &str) -> TsaClient {
    TsaClient::new(url, TIMEOUT).expect("client")
}

#[tokio::test]
async fn a_real_tsa_stamps_and_the_token_verifies() {
    let tsa = real_tsa(|_| {}).await;
    let c = client(&tsa.url);
    for digest in [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        let hash = digest.digest(b"a signature value");
        let token = c.stamp(digest, &hash).await.expect("token");
        let t = TokenVerifier::new(certs("pki/root-ca.pem"))
            .verify_token(&token, &Expectation::digest(digest, &hash))
            .expect("token verifies");
        assert_eq!(t.signer, certs("pki/tsa-p256.pem")[0]);
        assert_eq!(t.tst_info.policy.to_string(), POLICY);
        assert!(t.tst_info.nonce.is_some());
    }
    // The same client again: a pooled connection is reused without trouble.
    c.stamp(DigestAlgorithm::Sha256, &[7; 32])
        .await
        .expect("second token");
}

#[tokio::test]
async fn a_proof_stamped_over_http_verifies() {
    let tsa = real_tsa(|_| {}).await;
    let signer = ProofSigner::new(
        Arc::new(key("proof/signer-p256.key")),
        certs("proof/signer-p256.pem").remove(0),
        certs("pki/int-ca.pem"),
    )
    .expect("proof signer");
    let record = [0x30, 0x03, 0x02, 0x01, 0x2a];
    let unstamped = signer
        .sign(oid::CT_INBOX_EVIDENCE, &record, SystemTime::now())
        .expect("sign");
    let token = client(&tsa.url)
        .stamp(
            DigestAlgorithm::Sha256,
            &unstamped.time_stamp_imprint(DigestAlgorithm::Sha256),
        )
        .await
        .expect("token");
    let proof = unstamped.with_time_stamp(&token).expect("stamped");
    let v = ProofVerifier::new(certs("pki/root-ca.pem"))
        .content_type(oid::CT_INBOX_EVIDENCE)
        .verify(&proof, SystemTime::now())
        .expect("proof verifies");
    assert_eq!(v.content, record);
    assert!(v.time_stamp.is_some());
}

#[tokio::test]
async fn a_refusal_says_why() {
    let tsa = real_tsa(|c| c.accepted_digests = vec![DigestAlgorithm::Sha256]).await;
    let err = client(&tsa.url)
        .stamp(DigestAlgorithm::Sha512, &[1; 64])
        .await
        .expect_err("SHA-512 is not accepted");
    match &err {
        TsaClientError::Rejected {
            status,
            fail_info,
            text,
        } => {
            assert_eq!(*status, PkiStatus::Rejection);
            assert!(fail_info.is_some_and(|f| f.contains(FailureInfo::BadAlg)));
            assert!(text.contains("not accepted"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("badAlg"), "{err}");
    // A policy the TSA does not offer.
    let err = client(&tsa.url)
        .policy("1.3.6.1.4.1.99999.1.9".parse().expect("oid"))
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("policy");
    assert!(
        matches!(&err, TsaClientError::Rejected { fail_info: Some(f), .. } if f.contains(FailureInfo::UnacceptedPolicy)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hash_of_the_wrong_length_is_not_sent() {
    let err = client("http://127.0.0.1:9/tsa")
        .stamp(DigestAlgorithm::Sha256, &[1; 20])
        .await
        .expect_err("20 octets for SHA-256");
    assert!(matches!(err, TsaClientError::Request(_)), "{err:?}");
}

#[tokio::test]
async fn urls_other_than_http_are_refused() {
    for url in [
        "https://tsa.example/tsa",
        "ftp://tsa.example/",
        "tsa.example/tsa",
        "not a url",
        "http:///tsa",
        "",
    ] {
        assert!(
            matches!(
                TsaClient::new(url, TIMEOUT),
                Err(TsaClientError::Url { .. })
            ),
            "{url:?}"
        );
    }
    let c = TsaClient::new("http://127.0.0.1:3180/tsa", TIMEOUT).expect("http");
    assert_eq!(c.url().to_string(), "http://127.0.0.1:3180/tsa");
}

#[tokio::test]
async fn a_silent_server_is_a_time_out_within_the_bound() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    // Accepts and holds every connection, never answering.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let timeout = Duration::from_millis(300);
    let c = TsaClient::new(&format!("http://{addr}/tsa"), timeout).expect("client");
    let start = Instant::now();
    let err = c
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("no answer");
    let took = start.elapsed();
    assert!(
        matches!(err, TsaClientError::Timeout(t) if t == timeout),
        "{err:?}"
    );
    assert!(took >= timeout, "{took:?}");
    assert!(took < timeout + Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let err = client(&format!("http://{addr}/tsa"))
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, TsaClientError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn http_errors_and_garbage_are_named() {
    let down = fake_tsa(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "down")).await;
    let err = client(&down.url)
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("500");
    assert!(matches!(err, TsaClientError::Status(500)), "{err:?}");

    let garbage = fake_tsa(|_| {
        respond(
            StatusCode::OK,
            "application/timestamp-reply",
            Bytes::from_static(b"hello"),
        )
    })
    .await;
    let err = client(&garbage.url)
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("garbage");
    assert!(
        matches!(err, TsaClientError::BadReply(VerifyError::Malformed { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_oversized_reply_is_refused() {
    // Declared by Content-Length.
    let big = fake_tsa(|_| {
        respond(
            StatusCode::OK,
            "application/timestamp-reply",
            Bytes::from(vec![0x30; MAX_REPLY + 1]),
        )
    })
    .await;
    let err = client(&big.url)
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("too large");
    assert!(
        matches!(err, TsaClientError::TooLarge { max } if max == MAX_REPLY),
        "{err:?}"
    );
    // Streamed without a length: 2 MiB in chunks, cut off at the limit.
    let addr = chunked_server(32).await;
    let err = client(&format!("http://{addr}/tsa"))
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("too large");
    assert!(matches!(err, TsaClientError::TooLarge { .. }), "{err:?}");
    // The same server with a small body reaches the DER check instead: the limit is what
    // refused the large one.
    let addr = chunked_server(1).await;
    let err = client(&format!("http://{addr}/tsa"))
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("garbage");
    assert!(matches!(err, TsaClientError::BadReply(_)), "{err:?}");
}

#[tokio::test]
async fn a_reply_to_another_request_is_a_bad_reply() {
    // Always the same token, over another hash.
    let tsa = authority(|_| {});
    let other = gica_pki::tsp::TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .hash(&[9; 32])
        .cert_req(true)
        .build()
        .expect("request")
        .to_der()
        .expect("der");
    let fixed = Bytes::from(
        tsa.respond(
            &other,
            SystemTime::now(),
            TstSerial::random().expect("serial"),
        )
        .der,
    );
    let replay =
        fake_tsa(move |_| respond(StatusCode::OK, "application/timestamp-reply", fixed.clone()))
            .await;
    let err = client(&replay.url)
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("another imprint");
    assert!(
        matches!(err, TsaClientError::BadReply(VerifyError::ImprintMismatch)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_without_the_tsa_certificate_is_a_bad_reply() {
    // Answers the request as if certReq were false.
    let tsa = Arc::new(authority(|_| {}));
    let nocert = fake_tsa(move |body| {
        let mut req = TimeStampReq::from_der(&body).expect("request");
        assert!(req.cert_req, "the client asks for the certificate");
        req.cert_req = false;
        let der = tsa
            .respond(
                &req.to_der().expect("der"),
                SystemTime::now(),
                TstSerial::random().expect("serial"),
            )
            .der;
        respond(
            StatusCode::OK,
            "application/timestamp-reply",
            Bytes::from(der),
        )
    })
    .await;
    let err = client(&nocert.url)
        .stamp(DigestAlgorithm::Sha256, &[1; 32])
        .await
        .expect_err("no certificate");
    assert!(
        matches!(
            err,
            TsaClientError::BadReply(VerifyError::SignerCertificateMissing)
        ),
        "{err:?}"
    );
}
