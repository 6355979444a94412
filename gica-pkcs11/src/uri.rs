//! RFC 7512 `pkcs11:` URIs naming a private key, its token and the module that reaches it.

use std::path::PathBuf;

/// Longest URI accepted; real ones are a few hundred bytes.
pub const MAX_URI_LEN: usize = 4096;

/// Why a `pkcs11:` URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The text does not start with `pkcs11:`.
    #[error("not a pkcs11: URI")]
    NotPkcs11,
    /// Longer than [`MAX_URI_LEN`].
    #[error("pkcs11: URI longer than {MAX_URI_LEN} bytes")]
    TooLong,
    /// An attribute without `=`.
    #[error("pkcs11: URI attribute {0:?} has no '='")]
    Malformed(String),
    /// A `%` not followed by two hex digits.
    #[error("pkcs11: URI attribute {attribute}: bad percent-encoding")]
    BadPercent {
        /// The attribute.
        attribute: String,
    },
    /// A value that must be text is not UTF-8 after percent-decoding.
    #[error("pkcs11: URI attribute {attribute}: not UTF-8")]
    NotUtf8 {
        /// The attribute.
        attribute: String,
    },
    /// An attribute given twice.
    #[error("pkcs11: URI attribute {0} given twice")]
    Duplicate(String),
    /// An attribute gica does not know (or an RFC 7512 one it does not implement).
    #[error("pkcs11: URI attribute {0:?} is not supported")]
    Unknown(String),
    /// `pin-value` puts the PIN where `ps` and shell history show it.
    #[error("pkcs11: URI pin-value is refused: give pin-source=file:PATH or set GICA_PKCS11_PIN")]
    PinValue,
    /// A `pin-source` other than a `file:` path.
    #[error("pkcs11: URI pin-source {0:?}: only file:PATH is supported")]
    PinSource(String),
    /// A required attribute is missing.
    #[error("pkcs11: URI needs {0}")]
    Missing(&'static str),
    /// `type=` other than `private`.
    #[error("pkcs11: URI type={0:?}: a signing key is type=private")]
    ObjectType(String),
    /// `slot-id=` that is not a decimal number.
    #[error("pkcs11: URI slot-id={0:?} is not a number")]
    SlotId(String),
}

/// A parsed `pkcs11:` URI: which token, which key, which module and where the PIN is.
///
/// Attributes understood: in the path `token`, `serial`, `manufacturer`, `model`, `slot-id`
/// (select the token), `object`, `id`, `type=private` (select the key); in the query
/// `module-path` (required) and `pin-source=file:PATH`. Everything else, `pin-value`
/// included, is refused rather than ignored, so a restriction is never silently dropped.
///
/// ```
/// use gica_pkcs11::Pkcs11Uri;
/// let uri: Pkcs11Uri = "pkcs11:token=gica;object=tsa%20key;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/gica/pin"
///     .parse()
///     .expect("parses");
/// assert_eq!(uri.token.as_deref(), Some("gica"));
/// assert_eq!(uri.object.as_deref(), Some("tsa key"));
/// assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
/// assert_eq!(uri.module_path.to_str(), Some("/usr/lib/softhsm/libsofthsm2.so"));
/// assert_eq!(uri.pin_file.unwrap().to_str(), Some("/etc/gica/pin"));
/// assert!("pkcs11:token=gica;object=k?module-path=/m.so&pin-value=1234".parse::<Pkcs11Uri>().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Uri {
    /// Token label (`token=`).
    pub token: Option<String>,
    /// Token serial number (`serial=`).
    pub serial: Option<String>,
    /// Token manufacturer (`manufacturer=`).
    pub manufacturer: Option<String>,
    /// Token model (`model=`).
    pub model: Option<String>,
    /// Slot number (`slot-id=`).
    pub slot_id: Option<u64>,
    /// Key label (`object=`).
    pub object: Option<String>,
    /// Key id, CKA_ID (`id=`, usually percent-encoded bytes).
    pub id: Option<Vec<u8>>,
    /// The PKCS#11 module to load (`module-path=`).
    pub module_path: PathBuf,
    /// File holding the user PIN (`pin-source=file:PATH`).
    pub pin_file: Option<PathBuf>,
}

impl Pkcs11Uri {
    /// Whether `text` is meant as a `pkcs11:` URI (the scheme is case-insensitive).
    pub fn is_pkcs11(text: &str) -> bool {
        text.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("pkcs11:"))
    }

    /// The URI without the PIN source, for logs.
    pub fn display_name(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        };
        push("token", self.token.clone());
        push("serial", self.serial.clone());
        push("slot-id", self.slot_id.map(|s| s.to_string()));
        push("object", self.object.clone());
        push("id", self.id.as_ref().map(hex::encode));
        format!("pkcs11:{}", parts.join(";"))
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<Self, UriError> {
        if text.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        if !Self::is_pkcs11(text) {
            return Err(UriError::NotPkcs11);
        }
        let rest = &text[7..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, q),
            None => (rest, ""),
        };
        let mut uri = Pkcs11Uri::default();
        let mut module_path = None;
        let mut seen: Vec<String> = Vec::new();
        let attrs = path
            .split(';')
            .map(|a| (a, false))
            .chain(query.split('&').map(|a| (a, true)))
            .filter(|(a, _)| !a.is_empty());
        for (attr, in_query) in attrs {
            let (name, raw) = attr
                .split_once('=')
                .ok_or_else(|| UriError::Malformed(attr.to_string()))?;
            let name = name.to_ascii_lowercase();
            if seen.contains(&name) {
                return Err(UriError::Duplicate(name));
            }
            seen.push(name.clone());
            let bytes = percent_decode(raw).ok_or_else(|| UriError::BadPercent {
                attribute: name.clone(),
            })?;
            let text = || {
                String::from_utf8(bytes.clone()).map_err(|_| UriError::NotUtf8 {
                    attribute: name.clone(),
                })
            };
            match (name.as_str(), in_query) {
                ("token", false) => uri.token = Some(text()?),
                ("serial", false) => uri.serial = Some(text()?),
                ("manufacturer", false) => uri.manufacturer = Some(text()?),
                ("model", false) => uri.model = Some(text()?),
                ("slot-id", false) => {
                    let t = text()?;
                    uri.slot_id = Some(t.parse().map_err(|_| UriError::SlotId(t))?);
                }
                ("object", false) => uri.object = Some(text()?),
                ("id", false) => uri.id = Some(bytes),
                ("type", false) => {
                    let t = text()?;
                    if t != "private" {
                        return Err(UriError::ObjectType(t));
                    }
                }
                ("module-path", true) => module_path = Some(PathBuf::from(text()?)),
                ("pin-source", true) => uri.pin_file = Some(pin_file(&text()?)?),
                ("pin-value", true) => return Err(UriError::PinValue),
                _ => return Err(UriError::Unknown(name)),
            }
        }
        uri.module_path = module_path
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or(UriError::Missing("module-path=PATH"))?;
        if uri.object.is_none() && uri.id.is_none() {
            return Err(UriError::Missing("object=LABEL or id=ID"));
        }
        Ok(uri)
    }
}

/// The URI in canonical form: attributes in a fixed order, every byte outside RFC 3986's
/// unreserved set (and `/` in paths) percent-encoded; parsing it gives back the same value.
impl std::fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut path = Vec::new();
        let text = |k: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| format!("{k}={}", encode(v.as_bytes(), false)))
        };
        path.extend(text("token", &self.token));
        path.extend(text("serial", &self.serial));
        path.extend(text("manufacturer", &self.manufacturer));
        path.extend(text("model", &self.model));
        path.extend(self.slot_id.map(|s| format!("slot-id={s}")));
        path.extend(text("object", &self.object));
        path.extend(
            self.id
                .as_ref()
                .map(|id| format!("id={}", encode(id, false))),
        );
        let module = self.module_path.to_string_lossy();
        write!(
            f,
            "pkcs11:{}?module-path={}",
            path.join(";"),
            encode(module.as_bytes(), true)
        )?;
        if let Some(pin) = &self.pin_file {
            let pin = pin.to_string_lossy();
            // An absolute path gets an empty authority, so one starting with "//" stays a path.
            let prefix = if pin.starts_with('/') {
                "file://"
            } else {
                "file:"
            };
            write!(f, "&pin-source={prefix}{}", encode(pin.as_bytes(), true))?;
        }
        Ok(())
    }
}

fn encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `file:PATH`, `file:///PATH` or `file://localhost/PATH` to a path.
fn pin_file(source: &str) -> Result<PathBuf, UriError> {
    let refuse = || UriError::PinSource(source.to_string());
    let rest = source.strip_prefix("file:").ok_or_else(refuse)?;
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let slash = authority_and_path.find('/').ok_or_else(refuse)?;
            match &authority_and_path[..slash] {
                "" | "localhost" => &authority_and_path[slash..],
                _ => return Err(refuse()),
            }
        }
        None => rest,
    };
    if path.is_empty() {
        return Err(refuse());
    }
    Ok(PathBuf::from(path))
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            // from_str_radix alone would take "+1".
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(s: &str) -> Result<Pkcs11Uri, UriError> {
        s.parse()
    }

    #[test]
    fn the_issue_example_parses() {
        let u = parse("pkcs11:token=gica;object=tsa-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/gica/pin").expect("parses");
        assert_eq!(u.token.as_deref(), Some("gica"));
        assert_eq!(u.object.as_deref(), Some("tsa-key"));
        assert_eq!(
            u.module_path,
            PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")
        );
        assert_eq!(u.pin_file, Some(PathBuf::from("/etc/gica/pin")));
        assert_eq!(u.id, None);
    }

    #[test]
    fn selectors_and_percent_decoding() {
        let u = parse("PKCS11:serial=abc%3B1;slot-id=7;id=%a0%FF;type=private;manufacturer=SoftHSM%20project;model=SoftHSM%20v2?module-path=/a%20b/m.so&pin-source=file:///run/pin").expect("parses");
        assert_eq!(u.serial.as_deref(), Some("abc;1"));
        assert_eq!(u.slot_id, Some(7));
        assert_eq!(u.id, Some(vec![0xa0, 0xff]));
        assert_eq!(u.manufacturer.as_deref(), Some("SoftHSM project"));
        assert_eq!(u.model.as_deref(), Some("SoftHSM v2"));
        assert_eq!(u.module_path, PathBuf::from("/a b/m.so"));
        assert_eq!(u.pin_file, Some(PathBuf::from("/run/pin")));
        let u = parse("pkcs11:object=k?module-path=/m.so&pin-source=file://localhost/p")
            .expect("parses");
        assert_eq!(u.pin_file, Some(PathBuf::from("/p")));
    }

    #[test]
    fn refusals_are_typed() {
        let m = "?module-path=/m.so";
        assert_eq!(parse("file:/x"), Err(UriError::NotPkcs11));
        assert_eq!(
            parse("pkcs11:token=gica"),
            Err(UriError::Missing("module-path=PATH"))
        );
        assert_eq!(
            parse(&format!("pkcs11:token=gica{m}")),
            Err(UriError::Missing("object=LABEL or id=ID"))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a;object=b{m}")),
            Err(UriError::Duplicate("object".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a;color=red{m}")),
            Err(UriError::Unknown("color".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a;library-version=1{m}")),
            Err(UriError::Unknown("library-version".into()))
        );
        assert_eq!(
            parse("pkcs11:object=a?module-name=softhsm2"),
            Err(UriError::Unknown("module-name".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a{m}&pin-value=1234")),
            Err(UriError::PinValue)
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a{m}&pin-source=|cat")),
            Err(UriError::PinSource("|cat".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a{m}&pin-source=file://host/p")),
            Err(UriError::PinSource("file://host/p".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=%zz{m}")),
            Err(UriError::BadPercent {
                attribute: "object".into()
            })
        );
        assert_eq!(
            parse(&format!("pkcs11:object=%+1{m}")),
            Err(UriError::BadPercent {
                attribute: "object".into()
            })
        );
        assert_eq!(
            parse(&format!("pkcs11:object=%4{m}")),
            Err(UriError::BadPercent {
                attribute: "object".into()
            })
        );
        assert_eq!(
            parse(&format!("pkcs11:object=%ff{m}")),
            Err(UriError::NotUtf8 {
                attribute: "object".into()
            })
        );
        assert_eq!(
            parse(&format!("pkcs11:object{m}")),
            Err(UriError::Malformed("object".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a;type=cert{m}")),
            Err(UriError::ObjectType("cert".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a;slot-id=x{m}")),
            Err(UriError::SlotId("x".into()))
        );
        // module-path belongs in the query, token in the path.
        assert_eq!(
            parse("pkcs11:object=a;module-path=/m.so"),
            Err(UriError::Unknown("module-path".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object=a{m}&token=t")),
            Err(UriError::Unknown("token".into()))
        );
        assert_eq!(
            parse(&format!("pkcs11:object={}{m}", "a".repeat(MAX_URI_LEN))),
            Err(UriError::TooLong)
        );
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(any::<String>())
    }

    fn path() -> impl Strategy<Value = PathBuf> {
        any::<String>()
            .prop_filter("a path", |s| !s.is_empty())
            .prop_map(PathBuf::from)
    }

    proptest! {
        #[test]
        fn display_parses_back_to_the_same_uri(
            token in text(),
            serial in text(),
            manufacturer in text(),
            model in text(),
            slot_id in proptest::option::of(any::<u64>()),
            object in any::<String>(),
            id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            module_path in path(),
            pin_file in proptest::option::of(path()),
        ) {
            let uri = Pkcs11Uri {
                token, serial, manufacturer, model, slot_id, object: Some(object), id,
                module_path, pin_file,
            };
            let text = uri.to_string();
            prop_assert_eq!(text.parse::<Pkcs11Uri>(), Ok(uri), "{}", text);
        }
    }

    #[test]
    fn display_is_canonical() {
        let u = parse("pkcs11:object=a%20b;token=t;id=%01?pin-source=file:/p/q&module-path=/m.so")
            .expect("parses");
        assert_eq!(
            u.to_string(),
            "pkcs11:token=t;object=a%20b;id=%01?module-path=/m.so&pin-source=file:///p/q"
        );
        assert_eq!(
            parse("pkcs11:object=a?module-path="),
            Err(UriError::Missing("module-path=PATH"))
        );
    }

    #[test]
    fn display_name_leaves_out_the_pin_source() {
        let u =
            parse("pkcs11:token=gica;object=k;id=%01?module-path=/m.so&pin-source=file:/secret")
                .expect("parses");
        assert_eq!(u.display_name(), "pkcs11:token=gica;object=k;id=01");
    }
}
