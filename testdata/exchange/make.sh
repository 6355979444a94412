#!/bin/sh
# Fixture CSRs for gica-exchange's completeness check (openssl CLI only, OpenSSL 3.0+).
# Rerunning regenerates the weak keys (random, then deleted: only the CSRs are kept) and
# every CSR.
set -eu
cd "$(dirname "$0")"
subj="/C=IR/O=gica test agency/CN=gica test system"
# Strong enough: RSA-2048 (the committed TSA fixture key) and P-384.
openssl req -new -key ../pki/tsa-rsa.key -subj "$subj" -sha256 -outform DER -out csr-rsa2048.der
openssl req -new -key ../pki/tsa-p384.key -subj "$subj" -sha384 -outform DER -out csr-p384.der
openssl req -new -key ../pki/tsa-p256.key -subj "$subj" -sha256 -outform DER -out csr-p256.der
# Too weak: RSA-1024, P-521 (not P-256/P-384), secp256k1, Ed25519.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weak-rsa1024.key
openssl req -new -key weak-rsa1024.key -subj "$subj" -sha256 -outform DER -out csr-rsa1024.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out weak-p521.key
openssl req -new -key weak-p521.key -subj "$subj" -sha512 -outform DER -out csr-p521.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out weak-k256.key
openssl req -new -key weak-k256.key -subj "$subj" -sha256 -outform DER -out csr-k256.der
openssl genpkey -algorithm ED25519 -out weak-ed25519.key
openssl req -new -key weak-ed25519.key -subj "$subj" -outform DER -out csr-ed25519.der
for f in csr-*.der; do openssl req -inform DER -in "$f" -verify -noout; done
rm -f weak-*.key
