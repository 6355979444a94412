//! Running `gica`, canned and silent HTTP servers, and certificates and CRLs made with openssl
//! in the test (P-256 keys only).

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::common::{fixture_str, openssl};

/// Longest any `gica` run may take: a hang is a failure, not a stuck test.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What a `gica` run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    /// stdout then stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code and that the output holds every one of `needles`.
    #[track_caller]
    pub fn expect(&self, code: i32, needles: &[&str]) -> &Self {
        let text = self.text();
        assert_eq!(self.code, code, "exit code; output:\n{text}");
        for n in needles {
            assert!(text.contains(n), "{n:?} missing from:\n{text}");
        }
        self
    }

    /// stdout as one JSON object.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.text()))
    }
}

/// Runs `gica ARGS`.
pub fn gica(args: &[&str]) -> Run {
    gica_stdin(args, None)
}

/// Runs `gica ARGS` with `stdin` (or no stdin at all).
pub fn gica_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gica"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gica");
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("stdin");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "gica {} did not finish within {RUN_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(f) = feeder {
        f.join().expect("stdin feeder");
    }
    Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
        took: start.elapsed(),
    }
}

pub fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// A one-purpose HTTP server on 127.0.0.1:0: answers every request with one canned body, or
/// (silent) accepts and never answers. Stops on drop.
pub struct Canned {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    /// Answers every request with 200, `content_type` and `body`.
    pub fn answering(content_type: &'static str, body: Vec<u8>) -> Self {
        Self::run(move |mut stream, _held| {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            read_request(&mut stream);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            // The client may hang up early (a body over its cap): not an error here.
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        })
    }

    /// Accepts connections and keeps them open without a byte of answer.
    pub fn silent() -> Self {
        Self::run(|stream, held| held.push(stream))
    }

    fn run(mut handle: impl FnMut(TcpStream, &mut Vec<TcpStream>) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    handle(stream, &mut held);
                }
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request's head and its Content-Length body (bounded).
fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 64 << 10 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut have = buf.len() - head_end;
    while have < len {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
    }
}

/// A P-256 end-entity certificate issued by the fixture int-ca with `serial` (hex), optionally
/// naming `ocsp_url` in its authorityInfoAccess; PEM at `dir/NAME.pem`.
pub fn make_leaf(dir: &Path, name: &str, serial: &str, ocsp_url: Option<&str>) -> PathBuf {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let ext = dir.join(format!("{name}.ext"));
    let pem = dir.join(format!("{name}.pem"));
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &s(&key),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        &s(&key),
        "-subj",
        &format!("/C=IR/O=gica test/CN={name}"),
        "-out",
        &s(&csr),
    ]);
    let mut extensions = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                          subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        .to_string();
    if let Some(url) = ocsp_url {
        extensions.push_str(&format!("authorityInfoAccess=OCSP;URI:{url}\n"));
    }
    std::fs::write(&ext, extensions).expect("write ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        &s(&csr),
        "-CA",
        &fixture_str("pki/int-ca.pem"),
        "-CAkey",
        &fixture_str("pki/int-ca.key"),
        "-set_serial",
        &format!("0x{serial}"),
        "-days",
        "30",
        "-sha256",
        "-extfile",
        &s(&ext),
        "-out",
        &s(&pem),
    ]);
    pem
}

/// An empty CRL of the fixture root (`openssl ca -gencrl`), PEM: the revocation evidence for
/// int-ca that paths through it need.
pub fn root_crl(dir: &Path) -> PathBuf {
    let ca = dir.join("root-ca-crl");
    std::fs::create_dir_all(&ca).expect("mkdir");
    std::fs::write(ca.join("index.txt"), "").expect("index");
    std::fs::write(ca.join("crlnumber"), "01\n").expect("crlnumber");
    let cnf = ca.join("ca.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ca]\ndefault_ca = root\n[root]\ndatabase = {}\ncrlnumber = {}\ncertificate = {}\n\
             private_key = {}\ndefault_md = sha256\ndefault_crl_days = 30\n\
             crl_extensions = crl_ext\n[crl_ext]\nauthorityKeyIdentifier = keyid:always\n",
            s(&ca.join("index.txt")),
            s(&ca.join("crlnumber")),
            fixture_str("pki/root-ca.pem"),
            fixture_str("pki/root-ca.key"),
        ),
    )
    .expect("cnf");
    let out = dir.join("root-ca.crl");
    openssl(&[
        "ca",
        "-batch",
        "-config",
        &s(&cnf),
        "-gencrl",
        "-out",
        &s(&out),
    ]);
    out
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
