//! The command line: names and flags are a contract with users' scripts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  verified / good / valid
  1  verification failed, or the certificate is revoked
  2  status unknown (the responder or CRL does not know the certificate)
  3  usage or I/O error (file missing, network unreachable, bad flag)";

/// gica: time-stamps, OCSP, CRLs, certificate paths and signed registry receipts, checked the
/// way RFC 3161, 5652, 6960, 5280 and 9162 say.
#[derive(Debug, Parser)]
#[command(name = "gica", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Print one JSON object on stdout instead of text (also for failures).
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for each network call (connect, send, receive).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// RFC 3161 time-stamps: request, verify, show.
    #[command(subcommand)]
    Ts(TsCommand),
    /// Certificate status from an OCSP responder.
    #[command(subcommand)]
    Ocsp(OcspCommand),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCommand),
    /// Certificate paths.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Device registry receipts, snapshots and export lists.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Prints a shell completion script.
    #[command(after_help = "Example:\n  gica completions bash > /etc/bash_completion.d/gica")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints the man page (roff).
    #[command(after_help = "Example:\n  gica man > /usr/local/share/man/man1/gica.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum TsCommand {
    /// Hashes a file, asks a TSA for a time-stamp and checks that the reply answers it.
    #[command(after_help = "\
Example:
  gica ts request contract.pdf --url http://127.0.0.1:3180/tsa
  (writes contract.pdf.tsr, the TimeStampResp, as `openssl ts -reply -out` does)")]
    Request(TsRequest),
    /// Verifies a time-stamp over a file: signature, imprint, TSA certificate and its path.
    #[command(after_help = "\
Example:
  gica ts verify contract.pdf --token contract.pdf.tsr --anchors root.pem --untrusted chain.pem
  gica ts verify contract.pdf --token old.tsr --anchors root.pem --at gentime --crl ca.crl")]
    Verify(TsVerify),
    /// Shows the fields of a TimeStampResp or a TimeStampToken.
    #[command(after_help = "Example:\n  gica ts show contract.pdf.tsr")]
    Show {
        /// The response or token (DER or PEM).
        token: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Args)]
pub struct TsRequest {
    /// The file to time-stamp (`-` for stdin); hashed as a stream, any size.
    #[arg(required_unless_present = "digest", conflicts_with = "digest")]
    pub file: Option<PathBuf>,
    /// The hash of the data, in hex, instead of FILE.
    #[arg(long, value_name = "HEX")]
    pub digest: Option<String>,
    /// The TSA's URL.
    #[arg(long)]
    pub url: String,
    /// Hash algorithm.
    #[arg(long, value_enum, default_value = "sha256")]
    pub hash: Hash,
    /// Do not ask for the TSA's certificate in the token (certReq false).
    #[arg(long)]
    pub no_cert: bool,
    /// Send no nonce.
    #[arg(long)]
    pub no_nonce: bool,
    /// Ask for this TSA policy OID.
    #[arg(long, value_name = "OID")]
    pub policy: Option<String>,
    /// Where to write the reply (default FILE.tsr; required with `-` or --digest).
    #[arg(long, value_name = "FILE.tsr")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TsVerify {
    /// The time-stamped file (`-` for stdin).
    #[arg(required_unless_present = "digest", conflicts_with = "digest")]
    pub file: Option<PathBuf>,
    /// The hash of the data, in hex, instead of FILE (in the token's hash algorithm).
    #[arg(long, value_name = "HEX")]
    pub digest: Option<String>,
    /// The TimeStampResp or TimeStampToken.
    #[arg(long, value_name = "FILE.tsr")]
    pub token: PathBuf,
    /// Trusted root certificates (PEM or DER, bundles allowed).
    #[arg(long, value_name = "ROOTS.pem")]
    pub anchors: PathBuf,
    /// Intermediate certificates for the path.
    #[arg(long, value_name = "CHAIN.pem")]
    pub untrusted: Vec<PathBuf>,
    /// When the TSA's path must be valid: now (default, as openssl), gentime (archived
    /// tokens) or an RFC 3339 time.
    #[arg(long, value_name = "gentime|now|RFC3339", default_value = "now")]
    pub at: String,
    /// The policy OID the token must carry.
    #[arg(long, value_name = "OID")]
    pub policy: Option<String>,
    /// CRLs (file or URL) as revocation evidence for the TSA's chain; once given, every
    /// certificate below the anchor must be covered.
    #[arg(long, value_name = "FILE|URL")]
    pub crl: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum OcspCommand {
    /// Asks an OCSP responder about a certificate and verifies the answer.
    #[command(after_help = "\
Example:
  gica ocsp check --cert site.pem --issuer ca.pem
  gica ocsp check --cert site.pem --issuer ca.pem --url http://127.0.0.1:3181/ocsp --get")]
    Check(OcspCheck),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CertIdHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

#[derive(Debug, Args)]
pub struct OcspCheck {
    /// The certificate to check.
    #[arg(long, value_name = "LEAF.pem")]
    pub cert: PathBuf,
    /// Its issuer's certificate.
    #[arg(long, value_name = "CA.pem")]
    pub issuer: PathBuf,
    /// The responder (default: the OCSP URL in the certificate's authorityInfoAccess).
    #[arg(long)]
    pub url: Option<String>,
    /// Send the request by GET (RFC 6960 A.1, cacheable).
    #[arg(long, conflicts_with = "post")]
    pub get: bool,
    /// Send the request by POST (the default).
    #[arg(long)]
    pub post: bool,
    /// Send no nonce (for responders that serve cached, RFC 5019 responses).
    #[arg(long)]
    pub no_nonce: bool,
    /// Also validate the certificate's path to these roots.
    #[arg(long, value_name = "ROOTS.pem")]
    pub anchors: Option<PathBuf>,
    /// Hash of the CertID (SHA-1 is what RFC 5019 responders expect).
    #[arg(long, value_enum, default_value = "sha1")]
    pub cert_id_hash: CertIdHash,
}

#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    /// Shows a CRL's fields and entries (no signature check).
    #[command(after_help = "Example:\n  gica crl show http://127.0.0.1:3181/crl/ca.crl")]
    Show {
        /// The CRL: a file (DER or PEM) or an http(s) URL.
        source: String,
        /// List every entry (default: the first 10).
        #[arg(long)]
        entries: bool,
    },
    /// Verifies a CRL: signature, freshness, scope; with --cert, whether it is listed.
    #[command(after_help = "Example:\n  gica crl verify ca.crl --issuer ca.pem --cert site.pem")]
    Verify(CrlVerify),
}

#[derive(Debug, Args)]
pub struct CrlVerify {
    /// The CRL: a file (DER or PEM) or an http(s) URL.
    pub source: String,
    /// The CRL issuer's certificate.
    #[arg(long, value_name = "CA.pem")]
    pub issuer: PathBuf,
    /// Report whether this certificate is listed.
    #[arg(long, value_name = "LEAF.pem")]
    pub cert: Option<PathBuf>,
    /// Check freshness at this RFC 3339 time instead of now.
    #[arg(long, value_name = "now|RFC3339", default_value = "now")]
    pub at: String,
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Validates a certificate's path to trusted roots, with revocation from CRLs and/or OCSP.
    #[command(after_help = "\
Example:
  gica cert verify site.pem --anchors root.pem --untrusted chain.pem --ocsp
  gica cert verify site.pem --anchors root.pem --crl http://127.0.0.1:3181/crl/ca.crl")]
    Verify(CertVerify),
}

#[derive(Debug, Args)]
pub struct CertVerify {
    /// The certificate (more certificates in the file are used as intermediates).
    pub leaf: PathBuf,
    /// Trusted root certificates.
    #[arg(long, value_name = "ROOTS.pem")]
    pub anchors: PathBuf,
    /// Intermediate certificates.
    #[arg(long, value_name = "CHAIN.pem")]
    pub untrusted: Vec<PathBuf>,
    /// Validate at this RFC 3339 time instead of now.
    #[arg(long, value_name = "now|RFC3339", default_value = "now")]
    pub at: String,
    /// CRLs (file or URL) as revocation evidence.
    #[arg(long, value_name = "FILE|URL")]
    pub crl: Vec<String>,
    /// Ask each certificate's OCSP responder (from its authorityInfoAccess).
    #[arg(long)]
    pub ocsp: bool,
    /// Require a revocation status for the certificate itself only, not for the CAs above
    /// it (as `openssl verify -crl_check`; the default is every certificate below the
    /// anchor, as `-crl_check_all`).
    #[arg(long)]
    pub leaf_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Verifies a device registry receipt: the registry's signature and certificate path,
    /// the time-stamp on it, its content, and each inclusion proof against the snapshot root.
    #[command(after_help = "\
Example:
  gica receipt verify receipt.p7m --anchors root.pem
  gica receipt verify receipt.p7m --anchors root.pem --snapshot snapshot.p7m --json")]
    Verify(ReceiptVerify),
    /// Shows a receipt, snapshot or export list (told apart by eContentType), unverified.
    #[command(after_help = "Example:\n  gica receipt show receipt.p7m")]
    Show {
        /// The signed object (CMS SignedData, DER or PEM).
        file: PathBuf,
        /// List every pair of an export list (default: the first 10).
        #[arg(long)]
        entries: bool,
    },
}

#[derive(Debug, Args)]
pub struct ReceiptVerify {
    /// The receipt (CMS SignedData, DER or PEM).
    pub receipt: PathBuf,
    /// Trusted root certificates for the registry's signing certificate (and for the TSA,
    /// unless --tsa-anchors is given).
    #[arg(long, value_name = "ROOTS.pem")]
    pub anchors: PathBuf,
    /// Intermediate certificates the receipt does not carry.
    #[arg(long, value_name = "CHAIN.pem")]
    pub untrusted: Vec<PathBuf>,
    /// Trusted roots for the time-stamp authority, when they differ from --anchors.
    #[arg(long, value_name = "ROOTS.pem")]
    pub tsa_anchors: Option<PathBuf>,
    /// The registry's signed snapshot: it must verify and name the same version, size and
    /// root as the receipt.
    #[arg(long, value_name = "SNAPSHOT.p7m")]
    pub snapshot: Option<PathBuf>,
    /// When the paths must be valid: gentime (default: at the token's genTime, as CAdES-T),
    /// now, or an RFC 3339 time (then at genTime and at that time).
    #[arg(long, value_name = "gentime|now|RFC3339", default_value = "gentime")]
    pub at: String,
    /// CRLs (file or URL) as revocation evidence for the registry's and the TSA's chains;
    /// once given, every certificate below an anchor must be covered.
    #[arg(long, value_name = "FILE|URL")]
    pub crl: Vec<String>,
}
