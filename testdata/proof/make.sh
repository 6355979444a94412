#!/usr/bin/env bash
# Generates the proof fixtures (see README.md): two proof-signer certificates issued by
# ../pki/int-ca, a record, an openssl-made proof, and the gica-made stamped proofs (written by
# the ignored test `write_vectors` of gica-pki/tests/proof.rs), then checks every proof with
# `openssl cms -verify` and every embedded token with `openssl ts -verify`.
# Rerun after ../pki/make.sh. Keys are random on each run, so every file changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PKI=../pki

cat > "$TMP/ext.cnf" <<'CNF_EOF'
[ v3_signer ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CNF_EOF

serial() {
    printf '0x%s' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

signer() { # name subject genpkey-args...
    local name=$1 subject=$2
    shift 2
    openssl genpkey -quiet "$@" -out "$name.key"
    openssl req -new -batch -key "$name.key" -subj "$subject" -utf8 -out "$TMP/$name.csr"
    openssl x509 -req -in "$TMP/$name.csr" -CA "$PKI/int-ca.pem" -CAkey "$PKI/int-ca.key" \
        -set_serial "$(serial)" -days 3650 -sha256 \
        -extfile "$TMP/ext.cnf" -extensions v3_signer -out "$name.pem"
    openssl verify -CAfile "$PKI/root-ca.pem" -untrusted "$PKI/int-ca.pem" "$name.pem"
}

DN="/C=IR/O=gica test"
signer signer-p256 "$DN/CN=gica Test Proof Signer P-256" \
    -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve
signer signer-rsa "$DN/CN=gica Test Proof Signer RSA" \
    -algorithm RSA -pkeyopt rsa_keygen_bits:2048

# record.der: SEQUENCE { UTF8String "gica proof test record", INTEGER 1 }
printf '\x30\x1b\x0c\x16gica proof test record\x02\x01\x01' > record.der

# An openssl-made proof without a token: CAdES-BES (signingCertificateV2), no SMIMECapabilities,
# eContentType id-gica-ct-registryReceipt (1.3.6.1.4.1.99999.2.1.1).
openssl cms -sign -binary -nodetach -cades -nosmimecap -md sha256 \
    -econtent_type 1.3.6.1.4.1.99999.2.1.1 -in record.der \
    -signer signer-p256.pem -inkey signer-p256.key -certfile "$PKI/int-ca.pem" \
    -outform DER -out proof-openssl-p256.der

# gica's own stamped proofs: proof-p256.der (stamped by tsa-p256), proof-rsa.der (tsa-rsa).
(cd ../.. && GICA_WRITE_PROOF_VECTORS=1 cargo test -q -p gica-pki --test proof write_vectors \
    -- --ignored --exact)

for p in proof-p256 proof-rsa proof-openssl-p256; do
    openssl cms -verify -binary -inform DER -in "$p.der" -CAfile "$PKI/root-ca.pem" \
        -purpose any -out "$TMP/$p.content"
    cmp "$TMP/$p.content" record.der
done
for p in proof-p256 proof-rsa; do
    # The token is the element of the SET after the id-smime-aa-timeStampToken OID (the
    # TimeStampToken ContentInfo; `-offset N -out` writes the element at N). It stamps the
    # signature value, the last OCTET STRING before that OID, whose hex asn1parse prints.
    openssl asn1parse -inform DER -in "$p.der" > "$TMP/$p.txt"
    off=$(awk '/:id-smime-aa-timeStampToken/ { t = 1; next } t && t++ == 2 { split($1, a, ":"); print a[1] }' "$TMP/$p.txt")
    sig=$(awk '/OCTET STRING/ { h = $0 } /:id-smime-aa-timeStampToken/ && !done { sub(/.*HEX DUMP\]:/, "", h); print h; done = 1 }' "$TMP/$p.txt")
    openssl asn1parse -inform DER -in "$p.der" -offset "$off" -noout -out "$TMP/$p.token"
    printf "$(printf '%s' "$sig" | sed 's/../\\x&/g')" > "$TMP/$p.sig"
    openssl ts -verify -token_in -in "$TMP/$p.token" \
        -digest "$(openssl dgst -sha256 -r "$TMP/$p.sig" | cut -d' ' -f1)" \
        -CAfile "$PKI/root-ca.pem" -untrusted "$PKI/chain.pem"
done
echo "proof fixtures written to $PWD"
