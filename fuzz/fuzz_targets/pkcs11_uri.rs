//! The `pkcs11:` URI parser must return, never panic, on any UTF-8 input, and a URI it accepts
//! must print (canonical form) and parse back to the same value, when the canonical form is
//! within the length limit (escaping can triple it).
#![no_main]

use gica_pkcs11::{MAX_URI_LEN, Pkcs11Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(uri) = text.parse::<Pkcs11Uri>()
    {
        let printed = uri.to_string();
        if printed.len() <= MAX_URI_LEN {
            assert_eq!(printed.parse::<Pkcs11Uri>().as_ref(), Ok(&uri), "{printed}");
        }
        let _ = uri.display_name();
    }
});
