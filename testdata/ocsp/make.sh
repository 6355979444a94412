#!/usr/bin/env bash
# Generates OCSP test vectors (DER) with the openssl CLI (3.0+) against the fixture PKI in
# ../pki: requests by `openssl ocsp -reqout`, responses by `openssl ocsp -index -reqin
# -respout` (openssl answers a request file without a server), signed by int-ca.
# Rerunnable: overwrites; requests carry random nonces and responses the time of the run.
#
# index: tsa-p256 valid; tsa-rsa revoked 2026-01-01 keyCompromise (invalidity 2025-12-01).
#   req-p256-sha1.der        tsa-p256, SHA-1 CertID, nonce
#   req-two-sha256.der       tsa-p256 and tsa-rsa, SHA-256 CertIDs, no nonce
#   req-unknown.der          serial 0x0123456789abcdef (not issued), SHA-256, no nonce
#   resp-p256-good.der       answer to req-p256-sha1: good, responder byName, int-ca cert
#                            included, nonce echoed, no nextUpdate
#   resp-two-bykey.der       answer to req-two-sha256: good + revoked, byKey, no certs,
#                            nextUpdate 7 days on, signed with ecdsa-with-SHA384
#   resp-unknown.der         answer to req-unknown: unknown
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PKI=../pki
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt compat | sed 's/^subject=//'; }
printf 'V\t361231235959Z\t\t%s\tunknown\t%s\n' \
    "$(serial "$PKI/tsa-p256.pem")" "$(subject "$PKI/tsa-p256.pem")" > "$TMP/index.txt"
printf 'R\t361231235959Z\t260101000000Z,keyTime,20251201000000Z\t%s\tunknown\t%s\n' \
    "$(serial "$PKI/tsa-rsa.pem")" "$(subject "$PKI/tsa-rsa.pem")" >> "$TMP/index.txt"

openssl ocsp -issuer "$PKI/int-ca.pem" -cert "$PKI/tsa-p256.pem" -reqout req-p256-sha1.der \
    >/dev/null
openssl ocsp -issuer "$PKI/int-ca.pem" -no_nonce -sha256 -cert "$PKI/tsa-p256.pem" \
    -cert "$PKI/tsa-rsa.pem" -reqout req-two-sha256.der >/dev/null
openssl ocsp -issuer "$PKI/int-ca.pem" -no_nonce -sha256 -serial 0x0123456789abcdef \
    -reqout req-unknown.der >/dev/null

respond() { # respond REQUEST RESPONSE ARGS...
    local req=$1 resp=$2
    shift 2
    openssl ocsp -index "$TMP/index.txt" -CA "$PKI/int-ca.pem" -rsigner "$PKI/int-ca.pem" \
        -rkey "$PKI/int-ca.key" -reqin "$req" "$@" -respout "$resp" >/dev/null 2>&1
    # Read back: the signature verifies against the fixture root.
    openssl ocsp -respin "$resp" -CAfile "$PKI/root-ca.pem" -noverify -resp_text >/dev/null
    openssl ocsp -respin "$resp" -issuer "$PKI/int-ca.pem" -VAfile "$PKI/int-ca.pem" \
        -resp_text 2>&1 | grep -q 'Response verify OK'
}
respond req-p256-sha1.der resp-p256-good.der
respond req-two-sha256.der resp-two-bykey.der -resp_key_id -resp_no_certs -ndays 7 -rmd sha384
respond req-unknown.der resp-unknown.der

echo "OCSP vectors written to $PWD"
