#!/usr/bin/env bash
# Generates RFC 3161 test vectors with the openssl CLI (3.0+), signed by the
# fixture TSAs in ../pki (run ../pki/make.sh first). Rerunnable: overwrites.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PKI=../pki
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

printf 'gica test vector\n' > data.txt

# Shared serial counter for all responses produced by this run.
echo 01 > "$TMP/tsaserial"

write_cnf() { # key
    cat > "$TMP/tsa-$1.cnf" <<CNF_EOF
[ tsa ]
default_tsa = tsa_$1

[ tsa_$1 ]
serial              = $TMP/tsaserial
crypto_device       = builtin
signer_cert         = $PKI/tsa-$1.pem
certs               = $PKI/chain.pem
signer_key          = $PKI/tsa-$1.key
signer_digest       = sha256
default_policy      = 1.3.6.1.4.1.99999.1.1
other_policies      = 1.3.6.1.4.1.99999.1.2
digests             = sha256, sha384, sha512
accuracy            = secs:1, millisecs:500
ordering            = yes
tsa_name            = yes
ess_cert_id_chain   = no
ess_cert_id_alg     = sha256

# Same TSA but SigningCertificate (ESS v1, SHA-1 ESSCertID) instead of V2.
[ tsa_$1_essv1 ]
serial              = $TMP/tsaserial
crypto_device       = builtin
signer_cert         = $PKI/tsa-$1.pem
certs               = $PKI/chain.pem
signer_key          = $PKI/tsa-$1.key
signer_digest       = sha256
default_policy      = 1.3.6.1.4.1.99999.1.1
other_policies      = 1.3.6.1.4.1.99999.1.2
digests             = sha256, sha384, sha512
accuracy            = secs:1, millisecs:500
ordering            = yes
tsa_name            = yes
ess_cert_id_chain   = no
ess_cert_id_alg     = sha1
CNF_EOF
}

verify_resp() { # response untrusted-file query-file
    openssl ts -verify -data data.txt -in "$1" \
        -CAfile "$PKI/root-ca.pem" -untrusted "$2"
    openssl ts -verify -queryfile "$3" -in "$1" \
        -CAfile "$PKI/root-ca.pem" -untrusted "$2"
}

for key in rsa p256; do
    write_cnf "$key"
    cnf="$TMP/tsa-$key.cnf"

    # Queries: with nonce + certReq, and without nonce / without certReq.
    openssl ts -query -data data.txt -sha256 -cert -out "req-$key.tsq"
    openssl ts -query -data data.txt -sha256 -no_nonce -out "req-$key-nocert.tsq"

    # Responses.
    openssl ts -reply -config "$cnf" -queryfile "req-$key.tsq" -out "resp-$key.tsr"
    openssl ts -reply -config "$cnf" -queryfile "req-$key-nocert.tsq" -out "resp-$key-nocert.tsr"

    # Token (ContentInfo/SignedData) extracted from resp-$key.tsr.
    openssl ts -reply -in "resp-$key.tsr" -token_out -out "token-$key.der"

    # Verification (script fails on any error).
    verify_resp "resp-$key.tsr" "$PKI/chain.pem" "req-$key.tsq"
    openssl ts -verify -data data.txt -in "token-$key.der" -token_in \
        -CAfile "$PKI/root-ca.pem" -untrusted "$PKI/chain.pem"
    # The nocert response carries no certificates, so supply the TSA cert too.
    cat "$PKI/tsa-$key.pem" "$PKI/chain.pem" > "$TMP/untrusted-$key.pem"
    verify_resp "resp-$key-nocert.tsr" "$TMP/untrusted-$key.pem" "req-$key-nocert.tsq"
done

# ESS v1 (SigningCertificate, SHA-1 ESSCertID) response to req-rsa.tsq.
openssl ts -reply -config "$TMP/tsa-rsa.cnf" -section tsa_rsa_essv1 \
    -queryfile req-rsa.tsq -out resp-rsa-essv1.tsr
verify_resp resp-rsa-essv1.tsr "$PKI/chain.pem" req-rsa.tsq

echo "TS vectors written to $PWD"
