#!/usr/bin/env bash
# Generates the gica fixture PKI (all PEM) using only the openssl CLI (3.0+).
# Rerunnable: every output is overwritten. Keys are random on each run, so
# rerunning changes every file; rerun ../ts/make.sh afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

CNF="$TMP/openssl.cnf"
cat > "$CNF" <<'CNF_EOF'
[ req ]
distinguished_name = req_dn
string_mask        = utf8only
utf8               = yes

[ req_dn ]

[ v3_root ]
basicConstraints     = critical, CA:TRUE
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_int ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_tsa ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_tsa_eku_noncritical ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_tsa_eku_extra ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = critical, timeStamping, serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_tsa_no_eku ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CNF_EOF

# Random positive serial (< 2^127).
serial() {
    printf '0x%s' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

gen_ec() { # curve out
    openssl genpkey -quiet -algorithm EC \
        -pkeyopt "ec_paramgen_curve:$1" -pkeyopt ec_param_enc:named_curve \
        -out "$2"
}
gen_rsa() { # out
    openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"
}
gen_rsa_pss() { # out
    openssl genpkey -quiet -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$1"
}

self_signed() { # name subject days
    openssl req -new -x509 -config "$CNF" -extensions v3_root -batch \
        -key "$1.key" -subj "$2" -days "$3" -sha256 -set_serial "$(serial)" \
        -out "$1.pem"
}

# issue name subject days extsection issuer
issue() {
    openssl req -new -config "$CNF" -batch -key "$1.key" -subj "$2" \
        -out "$TMP/$1.csr"
    openssl x509 -req -in "$TMP/$1.csr" -CA "$5.pem" -CAkey "$5.key" \
        -set_serial "$(serial)" -days "$3" -sha256 \
        -extfile "$CNF" -extensions "$4" -out "$1.pem"
}

DN="/C=IR/O=gica test"

# 1. Root CA (20 years)
gen_ec P-256 root-ca.key
self_signed root-ca "$DN/CN=gica Test Root CA" 7300

# 2. Intermediate CA (15 years)
gen_ec P-256 int-ca.key
issue int-ca "$DN/CN=gica Test Intermediate CA" 5475 v3_int root-ca

# 3. RSA TSA (10 years) + PKCS#1 copy of the key
gen_rsa tsa-rsa.key
issue tsa-rsa "$DN/CN=gica Test TSA RSA" 3650 v3_tsa int-ca
openssl rsa -in tsa-rsa.key -traditional -out tsa-rsa.pkcs1.key

# 4. P-256 TSA + SEC1 copy of the key
gen_ec P-256 tsa-p256.key
issue tsa-p256 "$DN/CN=gica Test TSA P-256" 3650 v3_tsa int-ca
openssl ec -in tsa-p256.key -out tsa-p256.sec1.key

# 5. P-384 TSA
gen_ec P-384 tsa-p384.key
issue tsa-p384 "$DN/CN=gica Test TSA P-384" 3650 v3_tsa int-ca

# 6. RSA-PSS TSA (subject key is an id-RSASSA-PSS key; cert signed by int-ca, ECDSA P-256)
gen_rsa_pss tsa-rsa-pss.key
issue tsa-rsa-pss "$DN/CN=gica Test TSA RSA-PSS" 3650 v3_tsa int-ca

# 7. Bad TSA certs (P-256, signed by int-ca)
gen_ec P-256 tsa-eku-noncritical.key
issue tsa-eku-noncritical "$DN/CN=gica Test TSA EKU Non-Critical" 3650 v3_tsa_eku_noncritical int-ca

gen_ec P-256 tsa-eku-extra.key
issue tsa-eku-extra "$DN/CN=gica Test TSA EKU Extra" 3650 v3_tsa_eku_extra int-ca

gen_ec P-256 tsa-no-eku.key
issue tsa-no-eku "$DN/CN=gica Test TSA No EKU" 3650 v3_tsa_no_eku int-ca

# Expired: openssl 3.0 x509 -req has no -not_before/-not_after, so use a minimal `openssl ca`.
gen_ec P-256 tsa-expired.key
mkdir -p "$TMP/ca/newcerts"
: > "$TMP/ca/index.txt"
openssl rand -hex 16 | sed 's/^./7/' > "$TMP/ca/serial"
cat > "$TMP/ca/ca.cnf" <<CA_EOF
[ ca ]
default_ca = tmp_ca

[ tmp_ca ]
dir              = $TMP/ca
database         = \$dir/index.txt
new_certs_dir    = \$dir/newcerts
serial           = \$dir/serial
certificate      = $PWD/int-ca.pem
private_key      = $PWD/int-ca.key
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
email_in_dn      = no

[ policy_any ]
countryName            = optional
organizationName       = optional
commonName             = supplied

[ v3_tsa ]
basicConstraints       = CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = critical, timeStamping
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
CA_EOF
openssl req -new -config "$CNF" -batch -key tsa-expired.key \
    -subj "$DN/CN=gica Test TSA Expired" -out "$TMP/tsa-expired.csr"
openssl ca -batch -config "$TMP/ca/ca.cnf" -extensions v3_tsa -preserveDN -notext \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -in "$TMP/tsa-expired.csr" -out tsa-expired.pem

# 8. Chain: intermediate then root
cat int-ca.pem root-ca.pem > chain.pem

# 9. Unrelated root for negative trust tests
gen_ec P-256 other-root.key
self_signed other-root "$DN/CN=gica Other Root" 7300

# Sanity checks
openssl verify -CAfile root-ca.pem int-ca.pem
for c in tsa-rsa tsa-p256 tsa-p384 tsa-rsa-pss tsa-eku-noncritical tsa-eku-extra tsa-no-eku; do
    openssl verify -CAfile root-ca.pem -untrusted int-ca.pem "$c.pem"
done
for k in root-ca int-ca tsa-rsa tsa-p256 tsa-p384 tsa-rsa-pss tsa-eku-noncritical \
         tsa-eku-extra tsa-no-eku tsa-expired other-root; do
    # cert public key must match the private key
    if [ "$(openssl x509 -in "$k.pem" -noout -pubkey)" != "$(openssl pkey -in "$k.key" -pubout)" ]; then
        echo "key mismatch for $k" >&2; exit 1
    fi
done
echo "PKI fixtures written to $PWD"
