//! SoftHSM2 tokens for tests: a fresh token directory per test, keys imported from PEM or
//! generated on the token, and each test run in its own process.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialised, and a module is
//! initialised once per process, so tests that each want their own token directory cannot
//! share a process. [`SoftHsm::for_test`] runs the calling test again in a child process with
//! `SOFTHSM2_CONF` pointing at a fresh directory, and returns the token directory only there.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Where Debian, Fedora and source builds put the SoftHSM2 module.
pub const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The user PIN of test tokens.
pub const USER_PIN: &str = "1234";
const SO_PIN: &str = "5678";
const CHILD_ENV: &str = "GICA_SOFTHSM_TEST";
const DIR_ENV: &str = "GICA_SOFTHSM_DIR";

/// The SoftHSM2 module, if installed with `softhsm2-util`.
pub fn module_path() -> Option<PathBuf> {
    let util = Command::new("softhsm2-util").arg("--version").output();
    if !util.is_ok_and(|o| o.status.success()) {
        return None;
    }
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A SoftHSM2 configuration whose tokens live in one directory.
#[derive(Debug)]
pub struct SoftHsm {
    dir: PathBuf,
    module: PathBuf,
}

impl SoftHsm {
    /// In the test process: runs test `name` (its full path as `cargo test` lists it) again
    /// in a child process with a fresh `SOFTHSM2_CONF`, fails if the child fails, and returns
    /// `None`. In that child (where `GICA_PKCS11_PIN` is [`USER_PIN`]): returns the token directory to set up and use. Also `None`,
    /// with a message, when SoftHSM2 is not installed.
    ///
    /// # Panics
    /// When the child test fails (that is the test failing), or the temp directory or the
    /// child cannot be made.
    #[allow(clippy::expect_used)]
    pub fn for_test(name: &str) -> Option<SoftHsm> {
        let Some(module) = module_path() else {
            eprintln!(
                "SKIPPED {name}: SoftHSM2 is not installed (apt-get install softhsm2 opensc)"
            );
            return None;
        };
        if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
            let dir = PathBuf::from(std::env::var(DIR_ENV).expect("token directory"));
            return Some(SoftHsm { dir, module });
        }
        let (tmp, conf) = fresh_config();
        let exe = std::env::current_exe().expect("test binary");
        let out = Command::new(exe)
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, name)
            .env(DIR_ENV, tmp.path())
            .env("SOFTHSM2_CONF", &conf)
            .env(crate::PIN_ENV, USER_PIN)
            .output()
            .expect("run the test in a child process");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{name} in its SoftHSM2 process failed:\n{stdout}\n{stderr}"
        );
        None
    }

    /// For a benchmark or program (not a test): in the first process, runs this program again
    /// with the same arguments and a fresh `SOFTHSM2_CONF`, then exits with its status; in
    /// that child, returns the token directory. `None` when SoftHSM2 is not installed.
    ///
    /// # Panics
    /// When the temp directory or the child cannot be made.
    #[allow(clippy::expect_used)]
    pub fn own_process() -> Option<SoftHsm> {
        let module = module_path()?;
        if std::env::var(CHILD_ENV).as_deref() == Ok("process") {
            let dir = PathBuf::from(std::env::var(DIR_ENV).expect("token directory"));
            return Some(SoftHsm { dir, module });
        }
        let (tmp, conf) = fresh_config();
        let exe = std::env::current_exe().expect("this program");
        let status = Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(CHILD_ENV, "process")
            .env(DIR_ENV, tmp.path())
            .env("SOFTHSM2_CONF", &conf)
            .status()
            .expect("run again in a child process");
        drop(tmp);
        std::process::exit(status.code().unwrap_or(1));
    }

    /// The directory holding `softhsm2.conf`, `tokens/` and whatever the test writes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The token directory.
    pub fn token_dir(&self) -> PathBuf {
        self.dir.join("tokens")
    }

    /// The SoftHSM2 module.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// A file holding [`USER_PIN`], for `pin-source=file:`.
    pub fn pin_file(&self) -> PathBuf {
        let path = self.dir.join("pin");
        if !path.exists() {
            let _ = std::fs::write(&path, format!("{USER_PIN}\n"));
        }
        path
    }

    /// The URI of key `object` on token `token`, with the PIN from [`Self::pin_file`].
    pub fn uri(&self, token: &str, object: &str) -> String {
        format!(
            "pkcs11:token={token};object={object}?module-path={}&pin-source=file:{}",
            self.module.display(),
            self.pin_file().display()
        )
    }

    /// Runs a command, returning its output, or an error naming it when it fails.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let out = Command::new(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{program} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(out)
    }

    /// Initialises a fresh token labelled `label` in the first free slot.
    pub fn init_token(&self, label: &str) -> Result<(), String> {
        self.run(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                USER_PIN,
                "--so-pin",
                SO_PIN,
            ],
        )
        .map(drop)
    }

    /// Deletes the token labelled `label` (its directory too).
    pub fn delete_token(&self, label: &str) -> Result<(), String> {
        self.run("softhsm2-util", &["--delete-token", "--token", label])
            .map(drop)
    }

    /// Imports a PKCS#8 PEM private key (and its public half) as `label` with CKA_ID `id_hex`.
    pub fn import_key(
        &self,
        token: &str,
        pem: &Path,
        label: &str,
        id_hex: &str,
    ) -> Result<(), String> {
        let pem = pem.to_str().ok_or("non-UTF-8 path")?;
        self.run(
            "softhsm2-util",
            &[
                "--import", pem, "--token", token, "--label", label, "--id", id_hex, "--pin",
                USER_PIN,
            ],
        )
        .map(drop)
    }

    /// Generates a P-256 key pair on the token with `pkcs11-tool` (from OpenSC).
    pub fn generate_p256(&self, token: &str, label: &str, id_hex: &str) -> Result<(), String> {
        let module = self.module.to_str().ok_or("non-UTF-8 path")?;
        self.run(
            "pkcs11-tool",
            &[
                "--module",
                module,
                "--token-label",
                token,
                "--login",
                "--pin",
                USER_PIN,
                "--keypairgen",
                "--key-type",
                "EC:prime256v1",
                "--label",
                label,
                "--id",
                id_hex,
            ],
        )
        .map(drop)
    }
}

/// A temp directory with `tokens/` and a `softhsm2.conf` naming it.
#[allow(clippy::expect_used)]
fn fresh_config() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let tokens = tmp.path().join("tokens");
    std::fs::create_dir(&tokens).expect("token dir");
    let conf = tmp.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("conf");
    (tmp, conf)
}
