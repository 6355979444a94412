//! Online Certificate Status Protocol (RFC 6960, RFC 5019 profile, RFC 8954 nonce).
