//! How `serve` retires keep-alive connections: at `max_connection_age` the next response says
//! `Connection: close` and the connection ends after it; an idle connection is closed only by
//! the idle (header) time-out. No request a client sends may be lost to the close.
//!
//! Waits are conditions, not timings: a connection's age starts once its first request
//! arrives, so the client knows the age has passed once it has waited `AGE` after the first
//! response, and a handler that takes `AGE` is sure to finish past it.

use std::{net::SocketAddr, time::Duration};

use gica_serve::{Limits, serve, text};
use hyper::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

const AGE: Duration = Duration::from_secs(1);
/// Bound on every wait of a test, far above anything the tests need.
const BOUND: Duration = Duration::from_secs(20);

/// A server answering `/slow` after `AGE` and everything else at once; stopped on drop of
/// the sender.
async fn start(limits: Limits) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    tokio::spawn(serve(
        listener,
        limits,
        |req, _peer| async move {
            if req.uri().path() == "/slow" {
                tokio::time::sleep(AGE).await;
            }
            text(StatusCode::OK, req.uri().path().to_string())
        },
        async {
            let _ = stop_rx.await;
        },
    ));
    (addr, stop_tx)
}

fn limits(max_connection_age: Duration, idle: Duration) -> Limits {
    Limits {
        max_connection_age,
        header_timeout: idle,
        ..Limits::default()
    }
}

/// One response: status, whether it said `Connection: close`, body.
#[derive(Debug)]
struct Answer {
    status: u16,
    close: bool,
    body: String,
}

async fn exchange(s: &mut TcpStream, path: &str) -> Answer {
    tokio::time::timeout(BOUND, async {
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .expect("request written");
        let mut buf = Vec::new();
        let head_end = loop {
            let n = s.read_buf(&mut buf).await.expect("read");
            assert!(n > 0, "connection closed before the response to {path}");
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).expect("ASCII head");
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_ascii_lowercase())
            })
        };
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .expect("Content-Length");
        while buf.len() < head_end + len {
            let n = s.read_buf(&mut buf).await.expect("read body");
            assert!(n > 0, "connection closed inside the body");
        }
        assert_eq!(buf.len(), head_end + len, "nothing after the body");
        Answer {
            status: head[9..12].parse().expect("status code"),
            close: header("connection").is_some_and(|v| v == "close"),
            body: String::from_utf8_lossy(&buf[head_end..]).into_owned(),
        }
    })
    .await
    .expect("answered in time")
}

/// Whether the server closed `s` (end of file or reset) within the bound.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(BOUND, s.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

#[tokio::test]
async fn requests_sent_back_to_back_across_the_age_all_get_answers() {
    let (addr, _stop) = start(limits(AGE, Duration::from_secs(30))).await;
    let mut s = connect(addr).await;
    let mut before = 0u32;
    loop {
        let a = exchange(&mut s, "/fast").await;
        assert_eq!((a.status, a.body.as_str()), (200, "/fast\n"), "{a:?}");
        if a.close {
            break;
        }
        before += 1;
        assert!(before < 10_000_000, "never told to close");
    }
    assert!(before > 0, "the first response came before the age");
    assert!(
        closed_by_server(&mut s).await,
        "closed after Connection: close"
    );
    let mut fresh = connect(addr).await;
    let a = exchange(&mut fresh, "/again").await;
    assert_eq!((a.status, a.close), (200, false), "{a:?}");
}

#[tokio::test]
async fn an_idle_aged_connection_answers_its_next_request_then_closes() {
    let (addr, _stop) = start(limits(AGE, Duration::from_secs(30))).await;
    let mut s = connect(addr).await;
    let a = exchange(&mut s, "/first").await;
    assert_eq!((a.status, a.close), (200, false), "{a:?}");
    // Idle across the age: the connection must stay open.
    tokio::time::sleep(AGE + AGE / 2).await;
    let a = exchange(&mut s, "/after").await;
    assert_eq!(
        (a.status, a.close, a.body.as_str()),
        (200, true, "/after\n")
    );
    assert!(closed_by_server(&mut s).await);
}

#[tokio::test]
async fn a_request_in_flight_at_the_age_completes_and_says_close() {
    let (addr, _stop) = start(limits(AGE, Duration::from_secs(30))).await;
    let mut s = connect(addr).await;
    let a = exchange(&mut s, "/slow").await;
    assert_eq!((a.status, a.close, a.body.as_str()), (200, true, "/slow\n"));
    assert!(closed_by_server(&mut s).await);
}

#[tokio::test]
async fn an_idle_connection_is_closed_by_the_idle_timeout() {
    // Pins hyper's behaviour this crate relies on: the header timer runs while idle.
    let (addr, _stop) = start(limits(Duration::from_secs(300), Duration::from_millis(200))).await;
    let mut s = connect(addr).await;
    let a = exchange(&mut s, "/first").await;
    assert_eq!((a.status, a.close), (200, false), "{a:?}");
    assert!(closed_by_server(&mut s).await, "idle connection closed");
}
