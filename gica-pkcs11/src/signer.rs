//! [`Pkcs11Signer`]: a private key on a PKCS#11 token behind [`gica_pki::Signer`].

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard},
    time::{Duration, Instant},
};

use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    error::{Error as CkError, RvError},
    mechanism::{
        Mechanism, MechanismType,
        rsa::{PkcsMgfType, PkcsPssParams},
    },
    object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
    session::{Session, UserType},
    slot::Slot,
    types::{AuthPin, Ulong},
};
use gica_pki::{
    DigestAlgorithm, Signer, SignerOptions, oid,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
};

use der::{
    Decode, Encode, Sequence,
    asn1::{BitString, Null, ObjectIdentifier, OctetString, UintRef},
};

use crate::{
    PIN_ENV,
    error::{Pkcs11Error, TokenError},
    uri::Pkcs11Uri,
};

/// Largest PIN file read.
pub(crate) const MAX_PIN_FILE: u64 = 4096;
/// A module is re-initialised at most this often, so a token that stays away costs each
/// request a quick error instead of a re-initialisation.
const MIN_REINIT_INTERVAL: Duration = Duration::from_millis(500);
/// What the token signs at start to prove the key and its public half belong together.
const SELF_TEST: &[u8] = b"gica pkcs11 self-test";

/// DigestInfo (RFC 8017 9.2): what RSA PKCS#1 v1.5 signs.
///
/// ```text
/// DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
/// ```
#[derive(Sequence)]
struct DigestInfo {
    digest_algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// RSAPublicKey (RFC 8017 A.1.1): `SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// Ecdsa-Sig-Value (RFC 5480 / RFC 3279): `SEQUENCE { r INTEGER, s INTEGER }`.
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// The kinds of key gica signs with on a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    /// ECDSA; the field size in bytes (32 for P-256, 48 for P-384).
    Ec(usize),
}

/// How to open a [`Pkcs11Signer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Options {
    /// Hash and RSA padding, as for software keys.
    pub signer: SignerOptions,
    /// Sessions kept open for signing: one per thread that signs at once (the server's
    /// signing threads). More concurrent signatures open extra sessions for the moment.
    pub sessions: usize,
}

impl Default for Pkcs11Options {
    fn default() -> Self {
        Self {
            signer: SignerOptions::default(),
            sessions: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

impl Pkcs11Options {
    /// Options with these signer options and this many pooled sessions (at least one).
    pub fn new(signer: SignerOptions, sessions: usize) -> Self {
        Self {
            signer,
            sessions: sessions.max(1),
        }
    }
}

/// One loaded PKCS#11 module, shared by every signer in the process that names its path:
/// a module is initialised once per process, and re-initialising it ends every session.
struct Module {
    path: PathBuf,
    state: RwLock<ModuleState>,
}

struct ModuleState {
    ctx: Option<Pkcs11>,
    /// Bumped by every re-initialisation; sessions and handles of older ones are stale.
    generation: u64,
    last_init: Instant,
}

static MODULES: LazyLock<Mutex<HashMap<PathBuf, Arc<Module>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn load_module(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    let err = |e| Pkcs11Error::Module {
        path: path.to_path_buf(),
        source: TokenError(e),
    };
    let ctx = Pkcs11::new(path).map_err(err)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Someone else in the process initialised it (another library using the module).
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(ctx),
        Err(e) => Err(err(e)),
    }
}

impl Module {
    fn get(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
        // One entry per library file, however it is named (Debian's path is a symlink).
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut modules = lock(&MODULES);
        if let Some(m) = modules.get(&key) {
            return Ok(m.clone());
        }
        let ctx = load_module(path)?;
        let module = Arc::new(Module {
            path: path.to_path_buf(),
            state: RwLock::new(ModuleState {
                ctx: Some(ctx),
                generation: 0,
                last_init: Instant::now(),
            }),
        });
        modules.insert(key, module.clone());
        Ok(module)
    }

    fn read(&self) -> RwLockReadGuard<'_, ModuleState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Finalizes and initialises the module again, unless someone did since `seen` or it was
    /// done moments ago. Waits for signatures in flight (they hold the read lock).
    fn reinit(&self, seen: u64, what: &str) -> Result<(), Pkcs11Error> {
        let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if st.generation != seen {
            return Ok(());
        }
        if st.last_init.elapsed() < MIN_REINIT_INTERVAL {
            return Err(Pkcs11Error::Unavailable(what.to_string()));
        }
        tracing::warn!(module = %self.path.display(), key = what, "re-initialising the PKCS#11 module");
        if let Some(ctx) = st.ctx.take() {
            // Sessions of the old generation are forgotten, never closed: after C_Initialize
            // their handle numbers may name new sessions.
            let _ = ctx.finalize();
        }
        st.generation += 1;
        st.last_init = Instant::now();
        st.ctx = Some(load_module(&self.path)?);
        Ok(())
    }
}

/// Sessions and handles valid in one generation of the module.
struct Connection {
    generation: u64,
    key: ObjectHandle,
    slot: Slot,
    /// Held open for the life of the connection: the login lasts while a session is open.
    login: Mutex<Session>,
    idle: Mutex<Vec<Session>>,
}

/// What the token says about the key.
struct KeyFacts {
    kind: KeyKind,
    public_key: SubjectPublicKeyInfoOwned,
}

/// Why one attempt to sign failed: the session or token died (worth one retry after
/// re-initialising), or anything else.
enum Failure {
    Dead(u64, Pkcs11Error),
    Other(Pkcs11Error),
}

/// Return values that mean the session, login or token is gone rather than the request bad.
fn is_dead(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SlotIdInvalid
                | RvError::CryptokiNotInitialized
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
                | RvError::GeneralError,
            _
        )
    )
}

/// A private key on a PKCS#11 token (an HSM, a smart card, SoftHSM2), named by an RFC 7512
/// URI, signing as [`gica_pki::SoftwareSigner`] would with the same key.
///
/// RSA keys sign PKCS#1 v1.5 (or PSS with [`SignerOptions::rsa_pss`]), EC keys on P-256 and
/// P-384 sign ECDSA; gica hashes, the token signs the hash (`CKM_RSA_PKCS` over a DigestInfo,
/// `CKM_RSA_PKCS_PSS`, `CKM_ECDSA`), and the token's raw `r || s` becomes the DER SEQUENCE
/// that X.509 and CMS carry. The signature algorithm is derived from the token's public key
/// with [`gica_pki::signature_algorithm_for`].
///
/// Sessions come from a pool of [`Pkcs11Options::sessions`] with one login. A signature that
/// fails because its session or the token went away (`CKR_SESSION_HANDLE_INVALID`,
/// `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, ...) re-initialises the module, logs in
/// again, finds the key again (refusing a different key under the same name) and is retried
/// once, so a restarted HSM needs no server restart.
///
/// ```no_run
/// use gica_pki::Signer;
/// use gica_pkcs11::{Pkcs11Options, Pkcs11Signer};
/// let signer = Pkcs11Signer::open(
///     "pkcs11:token=gica;object=tsa-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/gica/pin",
///     Pkcs11Options::default(),
/// )?;
/// let signature = signer.sign(b"message")?;
/// gica_pki::verify_signature(signer.public_key(), signer.signature_algorithm(), None, b"message", &signature)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pkcs11Signer {
    uri: Pkcs11Uri,
    what: String,
    pin: AuthPin,
    module: Arc<Module>,
    kind: KeyKind,
    digest: DigestAlgorithm,
    pss: bool,
    algorithm: AlgorithmIdentifierOwned,
    public_key: SubjectPublicKeyInfoOwned,
    sessions: usize,
    conn: Mutex<Option<Arc<Connection>>>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("key", &self.what)
            .field("module", &self.uri.module_path)
            .field("algorithm", &self.algorithm.oid)
            .finish_non_exhaustive()
    }
}

/// The PIN: from the URI's `pin-source` file (its first line), else from `GICA_PKCS11_PIN`.
fn read_pin(uri: &Pkcs11Uri) -> Result<AuthPin, Pkcs11Error> {
    let Some(path) = &uri.pin_file else {
        return std::env::var(PIN_ENV)
            .map(AuthPin::from)
            .map_err(|_| Pkcs11Error::NoPin);
    };
    let io = |source| Pkcs11Error::PinFile {
        path: path.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    use std::io::Read;
    file.take(MAX_PIN_FILE + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_PIN_FILE {
        return Err(Pkcs11Error::PinFileTooLarge(path.clone()));
    }
    let line = text.lines().next().unwrap_or("");
    Ok(AuthPin::from(line.to_string()))
}

/// `r || s` (each `n` bytes, as PKCS#11 returns ECDSA signatures) as Ecdsa-Sig-Value DER.
fn ecdsa_sig_der(raw: &[u8], n: usize) -> gica_pki::Result<Vec<u8>> {
    if raw.len() != 2 * n {
        return Err(gica_pki::Error::Signing(
            format!(
                "ECDSA signature of {} bytes from the token, expected {}",
                raw.len(),
                2 * n
            )
            .into(),
        ));
    }
    let (r, s) = raw.split_at(n);
    Ok(EcdsaSigValue {
        r: UintRef::new(r)?,
        s: UintRef::new(s)?,
    }
    .to_der()?)
}

fn field_size(curve: &ObjectIdentifier) -> Option<usize> {
    if *curve == oid::SECP256R1 {
        Some(32)
    } else if *curve == oid::SECP384R1 {
        Some(48)
    } else {
        None
    }
}

impl Pkcs11Signer {
    /// Opens the key that `uri` names: loads the module (once per process), finds the token
    /// and key, logs in, reads the public key and checks with one signature that the token's
    /// private and public halves belong together.
    pub fn open(uri: &str, options: Pkcs11Options) -> Result<Self, Pkcs11Error> {
        let uri: Pkcs11Uri = uri.parse()?;
        let what = uri.display_name();
        let pin = read_pin(&uri)?;
        let module = Module::get(&uri.module_path)?;
        let (conn, facts) = {
            let st = module.read();
            let ctx = st
                .ctx
                .as_ref()
                .ok_or_else(|| Pkcs11Error::Unavailable(what.clone()))?;
            connect(ctx, st.generation, &uri, &what, &pin)?
        };
        let pki = |source| Pkcs11Error::Pki {
            what: what.clone(),
            source,
        };
        let (algorithm, digest) =
            gica_pki::signature_algorithm_for(&facts.public_key, options.signer).map_err(pki)?;
        let pss = algorithm.oid == oid::RSASSA_PSS;
        let signer = Self {
            what: what.clone(),
            uri,
            pin,
            module,
            kind: facts.kind,
            digest,
            pss,
            algorithm,
            public_key: facts.public_key,
            sessions: options.sessions.max(1),
            conn: Mutex::new(Some(Arc::new(conn))),
        };
        let sig = signer.sign_message(SELF_TEST)?;
        gica_pki::verify_signature(&signer.public_key, &signer.algorithm, None, SELF_TEST, &sig)
            .map_err(|_| Pkcs11Error::SelfTest(what))?;
        Ok(signer)
    }

    /// The URI's key and token, without the PIN source (for logs).
    pub fn name(&self) -> &str {
        &self.what
    }

    /// Signs `message` (hashing it here), retrying once on a fresh session if the token
    /// dropped the one used.
    pub fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let hash = self.digest.digest(message);
        let data = match (self.kind, self.pss) {
            (KeyKind::Rsa, false) => DigestInfo {
                digest_algorithm: AlgorithmIdentifierOwned {
                    oid: self.digest.oid(),
                    parameters: Some(Null.into()),
                },
                digest: OctetString::new(hash).map_err(|e| self.pki(e.into()))?,
            }
            .to_der()
            .map_err(|e| self.pki(e.into()))?,
            _ => hash,
        };
        let raw = match self.try_sign(&data) {
            Ok(sig) => sig,
            Err(Failure::Other(e)) => return Err(e),
            Err(Failure::Dead(generation, e)) => {
                tracing::warn!(key = %self.what, error = %e, "PKCS#11 session lost; retrying once");
                self.module.reinit(generation, &self.what)?;
                match self.try_sign(&data) {
                    Ok(sig) => sig,
                    Err(Failure::Dead(_, e) | Failure::Other(e)) => return Err(e),
                }
            }
        };
        match self.kind {
            KeyKind::Rsa => Ok(raw),
            KeyKind::Ec(n) => self.ecdsa_der(&raw, n),
        }
    }

    fn pki(&self, source: gica_pki::Error) -> Pkcs11Error {
        Pkcs11Error::Pki {
            what: self.what.clone(),
            source,
        }
    }

    /// The token's `r || s` as Ecdsa-Sig-Value DER.
    fn ecdsa_der(&self, raw: &[u8], n: usize) -> Result<Vec<u8>, Pkcs11Error> {
        ecdsa_sig_der(raw, n).map_err(|e| self.pki(e))
    }

    fn mechanism(&self) -> Mechanism<'static> {
        let salt = Ulong::try_from(self.digest.output_len()).unwrap_or_else(|_| Ulong::from(32));
        match (self.kind, self.pss) {
            (KeyKind::Rsa, false) => Mechanism::RsaPkcs,
            (KeyKind::Rsa, true) => {
                let (hash_alg, mgf) = match self.digest {
                    DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                    _ => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                };
                Mechanism::RsaPkcsPss(PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: salt,
                })
            }
            (KeyKind::Ec(_), _) => Mechanism::Ecdsa,
        }
    }

    /// One attempt on the current generation of the module.
    fn try_sign(&self, data: &[u8]) -> Result<Vec<u8>, Failure> {
        let st = self.module.read();
        let generation = st.generation;
        let Some(ctx) = st.ctx.as_ref() else {
            return Err(Failure::Dead(
                generation,
                Pkcs11Error::Unavailable(self.what.clone()),
            ));
        };
        let conn = self.connection(ctx, generation)?;
        let token = |e: CkError| {
            let dead = is_dead(&e);
            let err = Pkcs11Error::Token {
                what: self.what.clone(),
                source: TokenError(e),
            };
            if dead {
                Failure::Dead(generation, err)
            } else {
                Failure::Other(err)
            }
        };
        let session = match lock(&conn.idle).pop() {
            Some(s) => s,
            None => ctx.open_ro_session_no_drop(conn.slot).map_err(token)?,
        };
        match session.sign(&self.mechanism(), conn.key, data) {
            Ok(sig) => {
                let mut idle = lock(&conn.idle);
                if idle.len() < self.sessions {
                    idle.push(session);
                } else {
                    drop(idle);
                    let _ = session.close();
                }
                Ok(sig)
            }
            Err(e) => {
                if !is_dead(&e) {
                    let _ = session.close();
                }
                // A dead session is forgotten: its handle is void.
                Err(token(e))
            }
        }
    }

    /// The connection of this generation, made (login, key lookup) if there is none yet.
    fn connection(&self, ctx: &Pkcs11, generation: u64) -> Result<Arc<Connection>, Failure> {
        let mut slot = lock(&self.conn);
        if let Some(c) = slot.as_ref().filter(|c| c.generation == generation) {
            return Ok(c.clone());
        }
        // The old connection's sessions belong to a finalized module: drop, never close.
        *slot = None;
        let (conn, facts) =
            connect(ctx, generation, &self.uri, &self.what, &self.pin).map_err(|e| match e {
                Pkcs11Error::TokenNotFound(_)
                | Pkcs11Error::KeyNotFound(_)
                | Pkcs11Error::Login { .. } => Failure::Dead(generation, e),
                Pkcs11Error::Token { ref source, .. } if is_dead(&source.0) => {
                    Failure::Dead(generation, e)
                }
                e => Failure::Other(e),
            })?;
        if facts.public_key != self.public_key {
            return Err(Failure::Other(Pkcs11Error::KeyChanged(self.what.clone())));
        }
        let conn = Arc::new(conn);
        *slot = Some(conn.clone());
        Ok(conn)
    }
}

impl Drop for Pkcs11Signer {
    fn drop(&mut self) {
        let st = self.module.read();
        let conn = lock(&self.conn).take();
        if let Some(conn) = conn.and_then(|c| Arc::try_unwrap(c).ok())
            && conn.generation == st.generation
        {
            for s in lock(&conn.idle).drain(..) {
                let _ = s.close();
            }
            let _ = conn
                .login
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .close();
        }
    }
}

impl Signer for Pkcs11Signer {
    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    fn backend(&self) -> &'static str {
        "pkcs11"
    }

    /// A token can stall (a network HSM, a re-initialisation): never on async workers.
    fn may_block(&self) -> bool {
        true
    }

    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> gica_pki::Result<Vec<u8>> {
        Ok(self.sign_message(message)?)
    }
}

/// Finds the token and key, logs in and reads the public key.
fn connect(
    ctx: &Pkcs11,
    generation: u64,
    uri: &Pkcs11Uri,
    what: &str,
    pin: &AuthPin,
) -> Result<(Connection, KeyFacts), Pkcs11Error> {
    let token = |source| Pkcs11Error::Token {
        what: what.to_string(),
        source: TokenError(source),
    };
    let mut candidates = Vec::new();
    for slot in ctx.get_slots_with_initialized_token().map_err(token)? {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx.get_token_info(slot).map_err(token)?;
        let same = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w == have.trim_end())
        };
        if same(&uri.token, info.label())
            && same(&uri.serial, info.serial_number())
            && same(&uri.manufacturer, info.manufacturer_id())
            && same(&uri.model, info.model())
        {
            candidates.push(slot);
        }
    }
    if candidates.is_empty() {
        return Err(Pkcs11Error::TokenNotFound(what.to_string()));
    }
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    let mut found = Vec::new();
    for slot in candidates {
        let session = ctx.open_ro_session_no_drop(slot).map_err(token)?;
        match session.login(UserType::User, Some(pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(source) => {
                let _ = session.close();
                return Err(Pkcs11Error::Login {
                    what: what.to_string(),
                    source: TokenError(source),
                });
            }
        }
        let keys = match session.find_objects(&template) {
            Ok(k) => k,
            Err(e) => {
                let _ = session.close();
                return Err(token(e));
            }
        };
        if keys.is_empty() {
            let _ = session.close();
        } else {
            found.push((slot, session, keys));
        }
    }
    let count: usize = found.iter().map(|(_, _, k)| k.len()).sum();
    if count != 1 {
        for (_, s, _) in found {
            let _ = s.close();
        }
        return Err(if count == 0 {
            Pkcs11Error::KeyNotFound(what.to_string())
        } else {
            Pkcs11Error::Ambiguous(what.to_string(), count)
        });
    }
    let Some((slot, session, keys)) = found.pop() else {
        return Err(Pkcs11Error::KeyNotFound(what.to_string()));
    };
    let key = keys[0];
    match read_public_key(&session, key, what) {
        Ok(facts) => Ok((
            Connection {
                generation,
                key,
                slot,
                login: Mutex::new(session),
                idle: Mutex::new(Vec::new()),
            },
            facts,
        )),
        Err(e) => {
            let _ = session.close();
            Err(e)
        }
    }
}

/// The key's type and public half: RSA from the modulus and exponent (of the public key
/// object, else of the private key), EC from the curve and the public key object's point.
fn read_public_key(
    session: &Session,
    key: ObjectHandle,
    what: &str,
) -> Result<KeyFacts, Pkcs11Error> {
    let token = |source| Pkcs11Error::Token {
        what: what.to_string(),
        source: TokenError(source),
    };
    let pki = |source: gica_pki::Error| Pkcs11Error::Pki {
        what: what.to_string(),
        source,
    };
    let unsupported = |why: String| Pkcs11Error::UnsupportedKey(what.to_string(), why);
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::Id,
                AttributeType::Label,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::EcParams,
            ],
        )
        .map_err(token)?;
    let mut key_type = None;
    let (mut id, mut label, mut modulus, mut exponent, mut params) = (None, None, None, None, None);
    for a in attrs {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Id(v) if !v.is_empty() => id = Some(v),
            Attribute::Label(v) if !v.is_empty() => label = Some(v),
            Attribute::Modulus(v) => modulus = Some(v),
            Attribute::PublicExponent(v) => exponent = Some(v),
            Attribute::EcParams(v) => params = Some(v),
            _ => {}
        }
    }
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    match (id, label) {
        (Some(id), _) => template.push(Attribute::Id(id)),
        (None, Some(label)) => template.push(Attribute::Label(label)),
        (None, None) => {}
    }
    let public = if template.len() > 1 {
        session
            .find_objects(&template)
            .map_err(token)?
            .first()
            .copied()
    } else {
        None
    };
    let public_attrs = |types: &[AttributeType]| -> Result<Vec<Attribute>, Pkcs11Error> {
        match public {
            Some(h) => session.get_attributes(h, types).map_err(token),
            None => Ok(Vec::new()),
        }
    };
    match key_type {
        Some(t) if t == KeyType::RSA => {
            for a in public_attrs(&[AttributeType::Modulus, AttributeType::PublicExponent])? {
                match a {
                    Attribute::Modulus(v) => modulus = Some(v),
                    Attribute::PublicExponent(v) => exponent = Some(v),
                    _ => {}
                }
            }
            let (Some(n), Some(e)) = (modulus, exponent) else {
                return Err(Pkcs11Error::PublicKeyNotFound(what.to_string()));
            };
            let der_err = |e: der::Error| pki(e.into());
            let rsa = RsaPublicKey {
                modulus: UintRef::new(&n).map_err(der_err)?,
                public_exponent: UintRef::new(&e).map_err(der_err)?,
            }
            .to_der()
            .map_err(der_err)?;
            let public_key = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid::RSA_ENCRYPTION,
                    parameters: Some(Null.into()),
                },
                subject_public_key: BitString::from_bytes(&rsa).map_err(der_err)?,
            };
            Ok(KeyFacts {
                kind: KeyKind::Rsa,
                public_key,
            })
        }
        Some(t) if t == KeyType::EC => {
            let mut point = None;
            for a in public_attrs(&[AttributeType::EcParams, AttributeType::EcPoint])? {
                match a {
                    Attribute::EcParams(v) if params.is_none() => params = Some(v),
                    Attribute::EcPoint(v) => point = Some(v),
                    _ => {}
                }
            }
            let curve = params
                .as_deref()
                .and_then(|p| ObjectIdentifier::from_der(p).ok())
                .ok_or_else(|| unsupported("EC key without a named curve".into()))?;
            let n = field_size(&curve).ok_or_else(|| unsupported(format!("curve {curve}")))?;
            let point = point.ok_or_else(|| Pkcs11Error::PublicKeyNotFound(what.to_string()))?;
            // CKA_EC_POINT is a DER OCTET STRING (PKCS#11 2.40); some tokens give the raw point.
            let point = if point.len() == 2 * n + 1 {
                point
            } else {
                OctetString::from_der(&point)
                    .map_err(|e| pki(e.into()))?
                    .into_bytes()
                    .into_vec()
            };
            if point.len() != 2 * n + 1 || point[0] != 4 {
                return Err(unsupported("EC point is not an uncompressed point".into()));
            }
            let public_key = SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid::EC_PUBLIC_KEY,
                    parameters: Some(der::Any::encode_from(&curve).map_err(|e| pki(e.into()))?),
                },
                subject_public_key: BitString::from_bytes(&point).map_err(|e| pki(e.into()))?,
            };
            Ok(KeyFacts {
                kind: KeyKind::Ec(n),
                public_key,
            })
        }
        other => Err(unsupported(format!("key type {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_ecdsa_signatures_become_minimal_der() {
        // r with leading zeros is shortened; s with its top bit set gets a 0x00 pad.
        let mut raw = vec![0u8; 31];
        raw.push(0x7f);
        raw.extend([0xffu8; 32]);
        let der = ecdsa_sig_der(&raw, 32).expect("der");
        let mut want = vec![0x30, 3 + 35, 0x02, 0x01, 0x7f, 0x02, 0x21, 0x00];
        want.extend([0xffu8; 32]);
        assert_eq!(der, want);
        // P-384 sizes, and a length that is not 2n.
        assert!(ecdsa_sig_der(&[1u8; 96], 48).is_ok());
        assert!(ecdsa_sig_der(&[1u8; 63], 32).is_err());
        assert!(ecdsa_sig_der(&[], 32).is_err());
    }
}
