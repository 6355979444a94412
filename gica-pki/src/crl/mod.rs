//! Certificate revocation lists (RFC 5280 5): a streaming builder, a parser and a verifier.
