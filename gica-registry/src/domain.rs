//! Placeholder until the domain types land (replaced by the real module).
#![allow(missing_docs)]

#[derive(Debug)]
pub struct TrackingCode(u64);

impl TrackingCode {
    pub fn from_number(n: u64) -> Result<Self, String> {
        Ok(Self(n))
    }
}

impl std::fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:09}0", self.0)
    }
}
