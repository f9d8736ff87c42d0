#!/usr/bin/env bash
# Regenerates Sources/EtcdProto/Generated from Protos/.
# The output is committed; run this only after changing a .proto file.
# Needs protoc (Debian: apt-get install protobuf-compiler); builds the Swift plugins itself
# from the pinned swift-protobuf / grpc-swift-protobuf versions in scripts/protoc-plugins.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-protoc"
out="$root/Sources/EtcdProto/Generated"

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }

for plugin in protoc-gen-swift protoc-gen-grpc-swift-2; do
  swift build -c release --package-path "$root/scripts/protoc-plugins" \
    --scratch-path "$scratch" --product "$plugin"
done
bin="$(swift build -c release --package-path "$root/scripts/protoc-plugins" --scratch-path "$scratch" --show-bin-path)"

# Generate into a scratch folder and swap it in only when protoc succeeded, so a broken
# .proto never leaves the package without its generated code.
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cd "$root/Protos"
protos=$(find . -name '*.proto' | sed 's|^\./||' | sort)
protoc \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --swift_out="$staging" \
  --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  --grpc-swift-2_out="$staging" \
  --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores \
  $protos
# protoc-gen-grpc-swift-2 writes a file even for protos without services; drop those.
grep -l "This file contained no services" "$staging"/*.grpc.swift | xargs -r rm
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -r "$staging" "$out"
echo "generated into ${out#$root/}:"
ls "$out"
