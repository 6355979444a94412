#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the committed RFC 3161 vectors in testdata/ts/.
# Needs only the openssl CLI. Safe to rerun: it overwrites the seed files and leaves
# anything libFuzzer added to the corpus alone.
#
#   tsp_request  <- testdata/ts/req-*.tsq
#   tsp_response <- testdata/ts/resp-*.tsr, plus one hand-written rejection response
#   tst_info     <- the TSTInfo DER (the eContent OCTET STRING's contents) of every
#                   resp-*.tsr (token-*.der are the tokens of resp-rsa/resp-p256, so add
#                   nothing), extracted with `openssl asn1parse -strparse`
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ts="$here/../testdata/ts"
corpus="$here/corpus"
mkdir -p "$corpus/tsp_request" "$corpus/tsp_response" "$corpus/tst_info"

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

for t in tsp_request tsp_response tst_info; do
    echo "seed.sh: $corpus/$t: $(ls "$corpus/$t" | wc -l) files (seeds plus anything fuzzing added)"
done
