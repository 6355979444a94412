//! The `pkcs11:` URI parser must return, never panic, on any UTF-8 input, and a URI it accepts
//! must print (canonical form) and parse back to the same value.
#![no_main]

use gica_pkcs11::Pkcs11Uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(uri) = text.parse::<Pkcs11Uri>()
    {
        let printed = uri.to_string();
        assert_eq!(printed.parse::<Pkcs11Uri>().as_ref(), Ok(&uri), "{printed}");
        let _ = uri.display_name();
    }
});
