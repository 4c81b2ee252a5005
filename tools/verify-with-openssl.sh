#!/usr/bin/env bash
# Check a cosign keyed signature without cosign or ros-build: skopeo fetches
# the registry's bytes, openssl checks the ECDSA signature over the signed
# payload, jq checks that the payload names the digest the reference has.
#
#   tools/verify-with-openssl.sh REGISTRY/REPO:TAG cosign.pub [--tls-verify=false]
#
# Exit 0 when at least one signature holds for this key and this digest.
set -euo pipefail

ref=${1:?usage: $0 REGISTRY/REPO:TAG|@sha256:DIGEST cosign.pub [--tls-verify=false]}
pub=${2:?usage: $0 REF cosign.pub [--tls-verify=false]}
tls=${3:---tls-verify=true}
for tool in skopeo openssl jq sha256sum base64; do
  command -v "$tool" >/dev/null || { echo "verify: $tool is needed (Debian: apt-get install skopeo openssl jq coreutils)" >&2; exit 2; }
done

# The repository: drop @digest, then a :tag after the last slash (a registry port stays).
repo=${ref%@*}
last=${repo##*/}
case $last in *:*) repo=${repo%:*} ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

skopeo inspect "$tls" --raw "docker://$ref" >"$work/manifest"
digest="sha256:$(sha256sum <"$work/manifest" | cut -d' ' -f1)"
case $ref in *@sha256:*) [ "${ref#*@}" = "$digest" ] || { echo "verify: registry served bytes that are not $ref" >&2; exit 1; } ;; esac
sig_tag="${digest/:/-}.sig"

if ! skopeo copy --quiet "${tls/--tls-verify/--src-tls-verify}" --preserve-digests "docker://$repo:$sig_tag" "oci:$work/sig:sig" 2>"$work/copy.err"; then
  echo "verify: no signature for $ref ($digest): $repo:$sig_tag cannot be fetched" >&2
  sed 's/^/  /' "$work/copy.err" >&2
  exit 1
fi
sig_manifest="$work/sig/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/sig/index.json" | cut -d: -f2)"

count=$(jq '.layers | length' "$sig_manifest")
for i in $(seq 0 $((count - 1))); do
  [ "$(jq -r ".layers[$i].mediaType" "$sig_manifest")" = application/vnd.dev.cosign.simplesigning.v1+json ] || continue
  payload="$work/sig/blobs/sha256/$(jq -r ".layers[$i].digest" "$sig_manifest" | cut -d: -f2)"
  jq -r ".layers[$i].annotations[\"dev.cosignproject.cosign/signature\"]" "$sig_manifest" | base64 -d >"$work/sig.der"
  if openssl dgst -sha256 -verify "$pub" -signature "$work/sig.der" "$payload" >/dev/null 2>&1 &&
     [ "$(jq -r '.critical.image["docker-manifest-digest"]' "$payload")" = "$digest" ]; then
    echo "Verified OK: $repo@$digest (signature $((i + 1)) of $count)"
    exit 0
  fi
done
echo "verify: none of the $count signature(s) of $ref ($digest) holds for $pub" >&2
exit 1
