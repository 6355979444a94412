//! The service catalogue: every service an agency may request, loaded from a TOML file.
//!
//! ```
//! use gica_exchange::{Bus, Catalogue};
//! let cat = Catalogue::from_toml(r#"
//!     [[service]]
//!     id = "inbox.submit"
//!     name = "National inbox: submission"
//!     owner = "iran-post"
//!     bus = "both"
//!     policy_oid = "1.3.6.1.4.1.61423.11.1"
//!     validity_days = 365
//!     requires = ["permit-letter", "technical-contact"]
//! "#).unwrap();
//! let s = cat.get("inbox.submit").unwrap();
//! assert_eq!(s.bus, Bus::Both);
//! assert!(s.bus.offers(Bus::Pgsb));
//! ```

use std::collections::BTreeMap;

use der::asn1::ObjectIdentifier;
use serde::Deserialize;

/// Largest catalogue file accepted.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Most services in one catalogue.
pub const MAX_SERVICES: usize = 10_000;
/// Longest certificate validity a service may grant (about five years).
pub const MAX_VALIDITY_DAYS: u32 = 1826;
/// Longest service id, name or owner (ub-name of RFC 5280 is 32768; ours is far shorter).
pub const MAX_TEXT: usize = 128;

/// A data-exchange bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bus {
    /// The government service bus.
    Gsb,
    /// The provincial government service bus.
    Pgsb,
    /// Both buses (a service offered on both, or a request for both).
    Both,
}

impl Bus {
    /// Whether a service on `self` can be used over `wanted`.
    pub fn offers(self, wanted: Bus) -> bool {
        self == Bus::Both || self == wanted
    }

    /// The single buses `self` stands for.
    pub fn parts(self) -> &'static [Bus] {
        match self {
            Bus::Gsb => &[Bus::Gsb],
            Bus::Pgsb => &[Bus::Pgsb],
            Bus::Both => &[Bus::Gsb, Bus::Pgsb],
        }
    }

    /// `gsb`, `pgsb` or `both`, as in the catalogue and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Bus::Gsb => "gsb",
            Bus::Pgsb => "pgsb",
            Bus::Both => "both",
        }
    }

    /// The inverse of [`Bus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "gsb" => Some(Bus::Gsb),
            "pgsb" => Some(Bus::Pgsb),
            "both" => Some(Bus::Both),
            _ => None,
        }
    }
}

/// What a request for a service must include beyond the system, its CSR and the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// The permit letter: its number and a scan.
    PermitLetter,
    /// A technical contact with an e-mail address.
    TechnicalContact,
}

/// One service in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// Stable id (`[a-z0-9._-]`, 1..=128), used in requests.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The agency that owns the service.
    pub owner: String,
    /// Where it is offered.
    pub bus: Bus,
    /// The certificate policy that stands for "may use this service".
    pub policy_oid: ObjectIdentifier,
    /// Validity of certificates granting it, in days.
    pub validity_days: u32,
    /// What a request for it must include.
    pub requires: Vec<Requirement>,
}

impl Service {
    /// Whether a request for this service must include `r`.
    pub fn requires(&self, r: Requirement) -> bool {
        self.requires.contains(&r)
    }
}

/// Why a catalogue file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("catalogue is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not valid TOML, or not the catalogue's shape.
    #[error("catalogue is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// More than [`MAX_SERVICES`] services.
    #[error("catalogue has {count} services, more than the {max} allowed")]
    TooManyServices {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A service id outside `[a-z0-9._-]{1,128}`.
    #[error("service id {id:?} is not 1..=128 of a-z 0-9 . _ -")]
    BadId {
        /// The id.
        id: String,
    },
    /// Two services with the same id.
    #[error("service id {id:?} appears twice")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A name or owner empty, too long or with control characters.
    #[error("service {id:?}: {field} is empty, longer than {MAX_TEXT} or has control characters")]
    BadText {
        /// The service.
        id: String,
        /// Which field.
        field: &'static str,
    },
    /// A policy OID that does not parse.
    #[error("service {id:?}: policy OID {oid:?} is not a valid OID")]
    BadOid {
        /// The service.
        id: String,
        /// What was given.
        oid: String,
    },
    /// Two services with the same policy OID: a certificate could not tell them apart.
    #[error("services {first:?} and {second:?} share the policy OID {oid}")]
    DuplicateOid {
        /// The OID.
        oid: ObjectIdentifier,
        /// The first service with it.
        first: String,
        /// The second.
        second: String,
    },
    /// Validity of 0 days or more than [`MAX_VALIDITY_DAYS`].
    #[error("service {id:?}: validity of {days} days is not 1..={MAX_VALIDITY_DAYS}")]
    BadValidity {
        /// The service.
        id: String,
        /// What was given.
        days: u32,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    service: Vec<ServiceToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceToml {
    id: String,
    name: String,
    owner: String,
    bus: Bus,
    policy_oid: String,
    validity_days: u32,
    #[serde(default)]
    requires: Vec<Requirement>,
}

/// The services on offer, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    services: BTreeMap<String, Service>,
}

impl Catalogue {
    /// Reads a catalogue: a list of `[[service]]` tables with `id`, `name`, `owner`, `bus`
    /// (`gsb`, `pgsb`, `both`), `policy_oid`, `validity_days` and `requires` (any of
    /// `permit-letter`, `technical-contact`). Unknown keys are refused, so a misspelt
    /// requirement cannot silently drop a rule.
    pub fn from_toml(text: &str) -> Result<Self, CatalogueError> {
        if text.len() > MAX_FILE_BYTES {
            return Err(CatalogueError::TooLarge {
                len: text.len(),
                max: MAX_FILE_BYTES,
            });
        }
        let file: File = toml::from_str(text)?;
        if file.service.len() > MAX_SERVICES {
            return Err(CatalogueError::TooManyServices {
                count: file.service.len(),
                max: MAX_SERVICES,
            });
        }
        let mut services = BTreeMap::new();
        let mut oids: BTreeMap<ObjectIdentifier, String> = BTreeMap::new();
        for s in file.service {
            let service = validate(s)?;
            if let Some(first) = oids.insert(service.policy_oid, service.id.clone()) {
                return Err(CatalogueError::DuplicateOid {
                    oid: service.policy_oid,
                    first,
                    second: service.id,
                });
            }
            if services.contains_key(&service.id) {
                return Err(CatalogueError::DuplicateId { id: service.id });
            }
            services.insert(service.id.clone(), service);
        }
        Ok(Self { services })
    }

    /// The service with this id.
    pub fn get(&self, id: &str) -> Option<&Service> {
        self.services.get(id)
    }

    /// The service whose policy OID this is.
    pub fn by_policy(&self, oid: &ObjectIdentifier) -> Option<&Service> {
        self.services.values().find(|s| &s.policy_oid == oid)
    }

    /// Every service, ordered by id.
    pub fn iter(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// How many services.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

/// `[a-z0-9._-]{1,128}`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TEXT
        && id
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

/// Non-empty after trimming, at most [`MAX_TEXT`] characters, no control characters.
pub fn valid_text(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= MAX_TEXT && !s.chars().any(char::is_control)
}

fn validate(s: ServiceToml) -> Result<Service, CatalogueError> {
    if !valid_id(&s.id) {
        return Err(CatalogueError::BadId { id: s.id });
    }
    for (field, value) in [("name", &s.name), ("owner", &s.owner)] {
        if !valid_text(value) {
            return Err(CatalogueError::BadText { id: s.id, field });
        }
    }
    let policy_oid = ObjectIdentifier::new(&s.policy_oid).map_err(|_| CatalogueError::BadOid {
        id: s.id.clone(),
        oid: s.policy_oid.clone(),
    })?;
    if s.validity_days == 0 || s.validity_days > MAX_VALIDITY_DAYS {
        return Err(CatalogueError::BadValidity {
            id: s.id,
            days: s.validity_days,
        });
    }
    let mut requires = s.requires;
    requires.sort();
    requires.dedup();
    Ok(Service {
        id: s.id,
        name: s.name,
        owner: s.owner,
        bus: s.bus,
        policy_oid,
        validity_days: s.validity_days,
        requires,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one(body: &str) -> Result<Catalogue, CatalogueError> {
        Catalogue::from_toml(&format!("[[service]]\n{body}"))
    }

    const GOOD: &str = r#"id = "registry.export"
name = "Device registry export"
owner = "cra"
bus = "gsb"
policy_oid = "1.3.6.1.4.1.61423.11.2"
validity_days = 90
"#;

    #[test]
    fn reads_a_service() {
        let cat = one(&format!(
            "{GOOD}requires = [\"technical-contact\", \"permit-letter\", \"permit-letter\"]"
        ))
        .unwrap();
        let s = cat.get("registry.export").unwrap();
        assert_eq!(s.owner, "cra");
        assert_eq!(s.bus, Bus::Gsb);
        assert_eq!(s.validity_days, 90);
        assert_eq!(s.policy_oid.to_string(), "1.3.6.1.4.1.61423.11.2");
        assert_eq!(
            s.requires,
            vec![Requirement::PermitLetter, Requirement::TechnicalContact]
        );
        assert_eq!(cat.by_policy(&s.policy_oid).unwrap().id, s.id);
        assert_eq!(cat.len(), 1);
        assert!(Catalogue::from_toml("").unwrap().is_empty());
    }

    #[test]
    fn bus_offers() {
        assert!(Bus::Both.offers(Bus::Gsb) && Bus::Both.offers(Bus::Pgsb));
        assert!(Bus::Gsb.offers(Bus::Gsb) && !Bus::Gsb.offers(Bus::Pgsb));
        assert!(!Bus::Gsb.offers(Bus::Both));
        for b in [Bus::Gsb, Bus::Pgsb, Bus::Both] {
            assert_eq!(Bus::parse(b.as_str()), Some(b));
        }
    }

    #[test]
    fn bad_files_are_refused_with_what_is_wrong() {
        let e = one(&GOOD.replace("registry.export", "Registry Export")).unwrap_err();
        assert!(
            matches!(e, CatalogueError::BadId { ref id } if id == "Registry Export"),
            "{e}"
        );
        let e = one(&GOOD.replace("1.3.6.1.4.1.61423.11.2", "not-an-oid")).unwrap_err();
        assert!(
            matches!(e, CatalogueError::BadOid { ref oid, .. } if oid == "not-an-oid"),
            "{e}"
        );
        let e = one(&GOOD.replace("= 90", "= 0")).unwrap_err();
        assert!(
            matches!(e, CatalogueError::BadValidity { days: 0, .. }),
            "{e}"
        );
        let e = one(&GOOD.replace("= 90", "= 5000")).unwrap_err();
        assert!(
            matches!(e, CatalogueError::BadValidity { days: 5000, .. }),
            "{e}"
        );
        let e = one(&GOOD.replace("\"cra\"", "\"\\u0007\"")).unwrap_err();
        assert!(
            matches!(e, CatalogueError::BadText { field: "owner", .. }),
            "{e}"
        );
        let e = one(&GOOD.replace("\"gsb\"", "\"xsb\"")).unwrap_err();
        assert!(matches!(e, CatalogueError::Syntax(_)), "{e}");
        let e = one(&format!("{GOOD}requires = [\"permit-leter\"]")).unwrap_err();
        assert!(matches!(e, CatalogueError::Syntax(_)), "{e}");
        let e = one(&format!("{GOOD}colour = \"blue\"")).unwrap_err();
        assert!(matches!(e, CatalogueError::Syntax(_)), "{e}");
        let e = one(&GOOD.replace("validity_days = 90\n", "")).unwrap_err();
        assert!(matches!(e, CatalogueError::Syntax(_)), "{e}");
        let e = Catalogue::from_toml("[[service]\n").unwrap_err();
        assert!(matches!(e, CatalogueError::Syntax(_)), "{e}");
    }

    #[test]
    fn duplicates_are_refused() {
        let twice = format!(
            "[[service]]\n{GOOD}\n[[service]]\n{}",
            GOOD.replace("11.2", "11.3")
        );
        let e = Catalogue::from_toml(&twice).unwrap_err();
        assert!(
            matches!(e, CatalogueError::DuplicateId { ref id } if id == "registry.export"),
            "{e}"
        );
        let same_oid = format!(
            "[[service]]\n{GOOD}\n[[service]]\n{}",
            GOOD.replace("registry.export", "other")
        );
        let e = Catalogue::from_toml(&same_oid).unwrap_err();
        assert!(
            matches!(e, CatalogueError::DuplicateOid { ref first, ref second, .. } if first == "registry.export" && second == "other"),
            "{e}"
        );
    }

    #[test]
    fn size_and_count_are_bounded() {
        let big = " ".repeat(MAX_FILE_BYTES + 1);
        assert!(matches!(
            Catalogue::from_toml(&big),
            Err(CatalogueError::TooLarge { .. })
        ));
        let many: String = (0..=MAX_SERVICES)
            .map(|i| format!("[[service]]\nid=\"s{i}\"\nname=\"n\"\nowner=\"o\"\nbus=\"gsb\"\npolicy_oid=\"1.2.{i}\"\nvalidity_days=1\n"))
            .collect();
        assert!(
            many.len() <= MAX_FILE_BYTES,
            "the count limit is reached first"
        );
        assert!(matches!(
            Catalogue::from_toml(&many),
            Err(CatalogueError::TooManyServices { .. })
        ));
    }
}
