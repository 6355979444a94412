#!/usr/bin/env bash
# Generates CRL test vectors (DER) with the openssl CLI (3.0+), signed by the fixture int-ca
# in ../pki. Rerunnable: overwrites; thisUpdate is the time of the run, nextUpdate 3650 days on.
#
#   crl-entries.der   three entries: 0x0a0b keyCompromise + invalidityDate 2025-12-01,
#                     0x0c superseded, 0x00ff (magnitude ff) no reason; cRLNumber 0x1000
#   crl-empty.der     no revokedCertificates; cRLNumber 0x1001
#   crl-idp.der       one entry, critical issuingDistributionPoint (fullName URI,
#                     onlyContainsUserCerts); cRLNumber 0x1002
#   crl-negative-serial.der
#                     crl-entries.der's issuing run with one more entry, serial 0x11223344,
#                     whose first octet is then patched to 0x91 (a negative INTEGER, which
#                     `openssl ca` cannot write) and the TBSCertList re-signed with int-ca's key
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PKI=../pki
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/ca.cnf" <<CNF_EOF
[ ca ]
default_ca = vec_ca

[ vec_ca ]
database         = $TMP/index.txt
crlnumber        = $TMP/crlnumber
certificate      = $PKI/int-ca.pem
private_key      = $PKI/int-ca.key
default_md       = sha256
default_crl_days = 3650
crl_extensions   = crl_ext

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ crl_idp ]
authorityKeyIdentifier    = keyid:always
issuingDistributionPoint  = critical, @idp

[ idp ]
fullname        = URI:http://crl.example.invalid/int-ca.crl
onlyuser        = TRUE
CNF_EOF

gencrl() { # gencrl NAME ARGS...: DER CRL NAME.der from the current index
    local name=$1
    shift
    openssl ca -batch -config "$TMP/ca.cnf" -gencrl "$@" -out "$TMP/$name.pem" 2>/dev/null
    openssl crl -in "$TMP/$name.pem" -outform DER -out "$name.der"
    openssl crl -inform DER -in "$name.der" -CAfile "$PKI/int-ca.pem" -noout 2>&1 | grep -q 'verify OK'
}

entries() {
    printf 'R\t361231235959Z\t260101000000Z,keyTime,20251201000000Z\t0A0B\tunknown\t/CN=a\n'
    printf 'R\t361231235959Z\t260201000000Z,superseded\t0C\tunknown\t/CN=b\n'
    printf 'R\t361231235959Z\t260301000000Z\t00FF\tunknown\t/CN=c\n'
    printf 'V\t361231235959Z\t\t0D\tunknown\t/CN=d\n'
}

entries > "$TMP/index.txt"
echo 1000 > "$TMP/crlnumber"
gencrl crl-entries
: > "$TMP/index.txt"
gencrl crl-empty
printf 'R\t361231235959Z\t260101000000Z,keyCompromise\t0A0B\tunknown\t/CN=a\n' > "$TMP/index.txt"
gencrl crl-idp -crlexts crl_idp

# Negative serial: write 0x11223344, patch its INTEGER (02 04 11 22 33 44) to 02 04 91 22 33 44,
# and re-sign. The CRL is well over 255 octets, so both it and the TBSCertList start with a
# 4-octet header (30 82 hi lo).
{ entries; printf 'R\t361231235959Z\t260401000000Z,cessationOfOperation\t11223344\tunknown\t/CN=e\n'; } > "$TMP/index.txt"
gencrl crl-negative-pos
hex=$(xxd -p crl-negative-pos.der | tr -d '\n')
rm crl-negative-pos.der
[ "${hex:0:4}" = 3082 ] && [ "${hex:8:4}" = 3082 ] || { echo "unexpected CRL header" >&2; exit 1; }
tbs_len=$(( 4 + 16#${hex:12:4} ))
tbs=${hex:8:$(( 2 * tbs_len ))}
case $tbs in *020411223344*) ;; *) echo "serial 11223344 not found" >&2; exit 1 ;; esac
tbs=${tbs/020411223344/020491223344}
printf '%s' "$tbs" | xxd -r -p > "$TMP/tbs.der"
openssl dgst -sha256 -sign "$PKI/int-ca.key" -out "$TMP/sig.der" "$TMP/tbs.der"
sig=$(xxd -p "$TMP/sig.der" | tr -d '\n')
sig_len=$(( ${#sig} / 2 + 1 ))
bitstring=$(printf '03%02x00%s' "$sig_len" "$sig")
alg=300a06082a8648ce3d040302 # ecdsa-with-SHA256
body="$tbs$alg$bitstring"
printf '3082%04x%s' $(( ${#body} / 2 )) "$body" | xxd -r -p > crl-negative-serial.der
# openssl reads the negative serial and checks the new signature.
openssl crl -inform DER -in crl-negative-serial.der -CAfile "$PKI/int-ca.pem" -noout -text \
    2>&1 | grep -q 'verify OK'
openssl crl -inform DER -in crl-negative-serial.der -noout -text | grep -q 'Serial Number: -'

echo "CRL vectors written to $PWD"
