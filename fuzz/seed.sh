#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the committed RFC 3161 vectors in testdata/ts/, and makes
# OCSP and CRL seeds with the fixture CA in testdata/pki/ (int-ca signs; scratch files live in
# a mktemp -d directory that is removed on exit). Needs only the openssl CLI (3.0+). Safe to
# rerun: it overwrites the seed files and leaves anything libFuzzer added to the corpus alone.
# The OCSP requests carry random nonces, so those seeds change on every run.
#
#   tsp_request  <- testdata/ts/req-*.tsq
#   tsp_response <- testdata/ts/resp-*.tsr, plus one hand-written rejection response
#   tst_info     <- the TSTInfo DER (the eContent OCTET STRING's contents) of every
#                   resp-*.tsr (token-*.der are the tokens of resp-rsa/resp-p256, so add
#                   nothing), extracted with `openssl asn1parse -strparse`
#   ocsp_request  <- `openssl ocsp -reqout` requests for tsa-p256 (and tsa-rsa, and an unissued
#                    serial): SHA-1 / SHA-256 CertIDs, with and without a nonce
#   ocsp_response <- `openssl ocsp -index -reqin -respout` answers to those requests (good,
#                    revoked, unknown; byName / byKey; with / without certs and nextUpdate;
#                    signed by int-ca or by a delegated OCSP signer), plus the five error statuses
#   ocsp_get_path <- the requests in base64, as /ocsp GET paths: standard, %2B/%2F/%3D escaped,
#                    base64url, unpadded, with a line break
#   crl           <- the committed testdata/crl/*.der (`openssl ca -gencrl` by int-ca: empty,
#                    with entries, reasons and invalidity dates, with an IDP; a negative serial)
#   crl_parse     <- the same CRLs
#   pkcs11_uri    <- hand-written pkcs11: URIs (the issue's example, every attribute, refusals)
#   (ocsp_request and ocsp_response also get the committed testdata/ocsp/*.der)
#   merkle_proof  <- two hashes then a proof's DER, from the Certificate Transparency 8-leaf
#                    test tree (the vectors of gica-pki/tests/merkle.rs): inclusion of leaf 5
#                    in 8 and of leaf 0 in 1, consistency 6 -> 8 and 2 -> 5
#   proof_verify  <- the committed testdata/proof/*.der proofs (gica-made and stamped, and
#                    openssl's `cms -sign -cades`), and `openssl cms -sign` proofs of
#                    record.der: with SHA-384, without certificates, with -noattr, by subject
#                    key identifier, detached
#   imei          <- hand-written identifiers, one per file: IMEI (14/15/16 digits, a wrong
#                    check digit), IMSI, MSISDN in each accepted form, national ID, tracking
#                    code, date, rat
#   sightings_csv <- hand-written sightings CSVs: good rows, one of every bad-row cause, CRLF,
#                    quoted fields, a BOM; the same body without its header; one gzip'd
#   receipt       <- the committed testdata/registry/*.der: a DeviceReceipt approval with two
#                    inclusion proofs and a refusal, a RegistrySnapshot, full and delta PairLists
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ts="$here/../testdata/ts"
corpus="$here/corpus"
pki="$here/../testdata/pki"
targets="tsp_request tsp_response tst_info ocsp_request ocsp_response ocsp_get_path crl crl_parse pkcs11_uri merkle_proof proof_verify imei sightings_csv receipt"
for t in $targets; do mkdir -p "$corpus/$t"; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp "$ts"/req-*.tsq "$corpus/tsp_request/"
cp "$ts"/resp-*.tsr "$corpus/tsp_response/"

# A rejection (status 2, statusString "bad alg", failInfo badAlg): exercises PKIStatusInfo's
# optional fields, which none of the granted vectors carry.
printf '\x30\x14\x30\x12\x02\x01\x02\x30\x09\x0c\x07bad alg\x03\x02\x07\x80' \
    > "$corpus/tsp_response/rejection-badalg.tsr"

# TSTInfo: find the OCTET STRING that follows the id-smime-ct-TSTInfo eContentType (the
# eContent) and let asn1parse parse its contents (-strparse OFFSET) and write them out as DER.
for f in "$ts"/resp-*.tsr; do
    # (awk reads to the end: exiting early would SIGPIPE openssl and trip pipefail.)
    off=$(openssl asn1parse -inform DER -in "$f" |
        awk '/:id-smime-ct-TSTInfo/ { t = 1 } t && !done && /OCTET STRING/ { split($1, a, ":"); print a[1]; done = 1 }')
    if [ -z "$off" ]; then
        echo "seed.sh: no TSTInfo eContent in $f" >&2
        exit 1
    fi
    name=$(basename "$f")
    openssl asn1parse -inform DER -in "$f" -strparse "$off" -noout \
        -out "$corpus/tst_info/tstinfo-${name%.*}.der"
done

# --- OCSP -----------------------------------------------------------------------------------
# A delegated responder: P-256, issued by int-ca, EKU OCSPSigning.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ocsp.key" 2>/dev/null
openssl req -new -key "$tmp/ocsp.key" -subj "/C=IR/O=gica test/CN=gica Fuzz OCSP Signer" \
    -out "$tmp/ocsp.csr"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,OCSPSigning\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' \
    > "$tmp/ocsp.ext"
openssl x509 -req -in "$tmp/ocsp.csr" -CA "$pki/int-ca.pem" -CAkey "$pki/int-ca.key" \
    -set_serial 0x7e57 -days 3650 -extfile "$tmp/ocsp.ext" -out "$tmp/ocsp.pem" 2>/dev/null

# Index: tsa-p256 valid, tsa-rsa revoked (keyTime = keyCompromise with a compromise time); any other
# serial is answered "unknown".
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt compat | sed 's/^subject=//'; }
printf 'V\t361231235959Z\t\t%s\tunknown\t%s\n' \
    "$(serial "$pki/tsa-p256.pem")" "$(subject "$pki/tsa-p256.pem")" > "$tmp/index.txt"
printf 'R\t361231235959Z\t260101000000Z,keyTime,20251201000000Z\t%s\tunknown\t%s\n' \
    "$(serial "$pki/tsa-rsa.pem")" "$(subject "$pki/tsa-rsa.pem")" >> "$tmp/index.txt"

req() { # req NAME ARGS...: writes the request NAME to the ocsp_request corpus and $tmp
    local name=$1
    shift
    openssl ocsp -issuer "$pki/int-ca.pem" "$@" -reqout "$tmp/$name.der" >/dev/null
    cp "$tmp/$name.der" "$corpus/ocsp_request/$name.der"
}
req req-sha1-nonce -cert "$pki/tsa-p256.pem"
req req-sha1-nononce -no_nonce -cert "$pki/tsa-p256.pem"
req req-sha256-nonce -sha256 -cert "$pki/tsa-p256.pem"
req req-sha256-nononce -no_nonce -sha256 -cert "$pki/tsa-p256.pem"
req req-revoked -cert "$pki/tsa-rsa.pem"
req req-two -no_nonce -cert "$pki/tsa-p256.pem" -cert "$pki/tsa-rsa.pem"
req req-unknown -sha256 -serial 0x0123456789abcdef

resp() { # resp NAME REQUEST ARGS...: answers REQUEST from the index
    local name=$1 request=$2
    shift 2
    openssl ocsp -index "$tmp/index.txt" -CA "$pki/int-ca.pem" -reqin "$tmp/$request.der" \
        "$@" -respout "$corpus/ocsp_response/$name.der" >/dev/null 2>&1
}
ca_signs=(-rsigner "$pki/int-ca.pem" -rkey "$pki/int-ca.key")
resp resp-good "req-sha1-nonce" "${ca_signs[@]}"
resp resp-good-nononce "req-sha1-nononce" "${ca_signs[@]}"
resp resp-good-sha256-keyid "req-sha256-nonce" "${ca_signs[@]}" -resp_key_id -resp_no_certs
resp resp-good-nextupdate "req-sha256-nononce" "${ca_signs[@]}" -ndays 7
resp resp-revoked "req-revoked" "${ca_signs[@]}" -rmd sha384
resp resp-two "req-two" "${ca_signs[@]}"
resp resp-unknown "req-unknown" "${ca_signs[@]}"
resp resp-delegated "req-sha1-nonce" -rsigner "$tmp/ocsp.pem" -rkey "$tmp/ocsp.key"
resp resp-delegated-keyid "req-two" -rsigner "$tmp/ocsp.pem" -rkey "$tmp/ocsp.key" -resp_key_id
# Error statuses: OCSPResponse with no responseBytes.
for s in 1 2 3 5 6; do
    printf '\x30\x03\x0a\x01\x0'"$s" > "$corpus/ocsp_response/resp-status-$s.der"
done

# GET paths: base64 of each request, in the spellings clients use.
for f in "$tmp"/req-*.der; do
    name=$(basename "$f" .der)
    b64=$(openssl base64 -A -in "$f")
    out="$corpus/ocsp_get_path/$name"
    printf '/%s' "$b64" > "$out.std"
    printf '//%s' "$b64" > "$out.dslash"
    printf '/%s' "$(printf '%s' "$b64" | sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g')" > "$out.escaped"
    printf '/%s' "$(printf '%s' "$b64" | tr '+/' '-_')" > "$out.url"
    printf '/%s' "${b64%%=*}" > "$out.unpadded"
    printf '/%s\n%s' "${b64:0:64}" "${b64:64}" > "$out.linebreak"
done

# --- CRL --------------------------------------------------------------------------------------

# The committed vectors (testdata/crl, made by its make.sh with `openssl ca -gencrl`: empty,
# with entries, with an IDP, and a negative serial that `openssl ca` cannot make;
# testdata/ocsp). crl_parse gets every CRL: it skips the signature check,
# so mutations of them reach the extension and entry parsers.
cp "$here/../testdata/crl/"*.der "$corpus/crl/"
cp "$corpus/crl/"*.der "$corpus/crl_parse/"
cp "$here/../testdata/ocsp/"req-*.der "$corpus/ocsp_request/"
cp "$here/../testdata/ocsp/"resp-*.der "$corpus/ocsp_response/"

# --- Merkle proofs ---------------------------------------------------------------------------
# Each seed: leaf hash (or first root), root (or second root), then the DER proof, written
# from hex with printf (no xxd needed).
hexseed() { # hexseed FILE HEX...
    local out=$1
    shift
    printf "$(printf '%s' "$*" | tr -d ' ' | sed 's/../\\x&/g')" > "$out"
}
m="$corpus/merkle_proof"
leaf0=6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d
leaf5=4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658
root2=fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125
root5=4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4
root6=76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef
root8=5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328
n01=5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e
n04=bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b
n12=0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a
n13=ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0
n20=d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7
hexseed "$m/inclusion-5-of-8" $leaf5 $root8 306e 020105 020108 3066 0420 $n04 0420 $n13 0420 $n20
hexseed "$m/inclusion-0-of-1" $leaf0 $leaf0 3008 020100 020101 3000
hexseed "$m/consistency-6-8" $root6 $root8 306e 020106 020108 3066 0420 $n12 0420 $n13 0420 $n20
hexseed "$m/consistency-2-5" $root2 $root5 304c 020102 020105 3044 0420 $n01 0420 $n04

# --- Proofs --------------------------------------------------------------------------------
# The committed proofs, and openssl variants that take other paths through the verifier.
proof="$here/../testdata/proof"
cp "$proof"/proof-*.der "$corpus/proof_verify/"
cms() { # cms NAME ARGS...: an `openssl cms -sign` proof of record.der by signer-p256
    local name=$1
    shift
    openssl cms -sign -binary -econtent_type 1.3.6.1.4.1.99999.2.1.1 -in "$proof/record.der" \
        -signer "$proof/signer-p256.pem" -inkey "$proof/signer-p256.key" -outform DER \
        "$@" -out "$corpus/proof_verify/openssl-$name.der"
}
cms sha384 -nodetach -cades -md sha384 -certfile "$pki/int-ca.pem"
cms nocerts -nodetach -nocerts
cms noattr -nodetach -noattr
cms keyid -nodetach -keyid -cades
cms detached

# --- Device registry -------------------------------------------------------------------------
n=0
for v in 490154203237518 49015420323751 4901542032375101 490154203237517 352099001761481 \
    432111234567890 310150123456789 989121234567 +989121234567 00989121234567 09121234567 \
    9121234567 +447700900123 +982112345678 0010350829 1111111111 0000005724 0000007524 \
    2024-02-29 2023-02-29 4G ' 4901-5420323751 '; do
    n=$((n + 1))
    printf '%s' "$v" > "$corpus/imei/id-$n.txt"
done
s="$corpus/sightings_csv"
printf '%s\n' 'date,imei,imsi,msisdn,rat' \
    '2021-03-01,490154203237518,432111234567890,09121234567,4G' \
    '2021-03-05,49015420323751,432111234567890,+989121234567,3G' \
    '2021-03-09,4901542032375101,432111234567890,00989121234567,' \
    '2021-03-01,490154203237518,432111234567890,09121234567' \
    '2021-02-30,490154203237517,43211123456789,02112345678,LTE-Advanced-Pro-5G' \
    '' \
    '"2021-03-01","490154203237518","432111234567890","+447700900123","4G"' \
    '' > "$s/rows.csv"
sed 's/$/\r/' "$s/rows.csv" > "$s/rows-crlf.csv"
printf '\xef\xbb\xbfDATE, IMEI ,imsi,msisdn,rat\n2021-03-01,490154203237518,432111234567890,9121234567,2\n' \
    > "$s/bom.csv"
sed 1d "$s/rows.csv" > "$s/body-only.csv"
gzip -9 -n -c "$s/rows.csv" > "$s/rows.csv.gz"
cp "$here/../testdata/registry/"*.der "$corpus/receipt/"

for t in $targets; do
    echo "seed.sh: $corpus/$t: $(ls "$corpus/$t" | wc -l) files (seeds plus anything fuzzing added)"
done

# pkcs11: URIs, one per file.
n=0
for u in \
    'pkcs11:token=gica;object=tsa-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/gica/pin' \
    'pkcs11:serial=abc%3B1;slot-id=7;id=%a0%FF;type=private;manufacturer=SoftHSM%20project;model=SoftHSM%20v2?module-path=/a%20b/m.so&pin-source=file:///run/pin' \
    'pkcs11:object=k?module-path=/m.so&pin-source=file://localhost/p' \
    'pkcs11:object=a?module-path=/m.so&pin-value=1234' \
    'pkcs11:object=%zz;object=b?module-name=x'; do
    n=$((n + 1))
    printf '%s' "$u" > "$corpus/pkcs11_uri/uri-$n.txt"
done
