#!/usr/bin/env bash
# Builds a release into artifacts/ (run from anywhere in a clone; needs the .NET 10 SDK, tar, zip,
# dpkg-deb and sha256sum):
#   outbox-VERSION-RID.tar.gz / .zip   the self-contained `outbox` executable (no .NET on the
#                                      server) with sql/, config/, docs/, README, LICENSE, CHANGELOG
#   outbox_VERSION_ARCH.deb            for each Linux RID (build/deb.sh)
#   outbox-VERSION-RID-oracle.tar.gz / .zip   the same with Oracle's driver built in, when the
#                                      package sources serve Oracle.ManagedDataAccess.Core (this
#                                      project's does not: then it says so and makes the rest)
#   Outbox.Core / Outbox.Storage / Outbox.Tool .nupkg   the .NET client packages and the dotnet tool
#   SHA256SUMS                         checksums of all of the above
# The version is Directory.Build.props's.
#
#   build/release.sh                          linux-x64, linux-arm64 and win-x64
#   build/release.sh --rid linux-x64          only these RIDs (repeat --rid), as CI does
set -euo pipefail
cd "$(dirname "$0")/.."

rids=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) [ $# -ge 2 ] || { echo "release.sh: --rid needs a runtime identifier (linux-x64, linux-arm64, win-x64)" >&2; exit 2; }
           rids+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64 win-x64)
for rid in "${rids[@]}"; do
  case "$rid" in
    linux-x64|linux-arm64|win-x64) ;;
    *) echo "release.sh: --rid $rid: not a released platform (linux-x64, linux-arm64, win-x64)" >&2; exit 2 ;;
  esac
done

version=$(dotnet msbuild src/Outbox/Outbox.csproj -getProperty:Version)
out=artifacts
work=$out/work
rm -rf "$out"
mkdir -p "$work"

# Publishes one RID into the archive NAME (.zip for Windows, else .tar.gz); further arguments go
# to dotnet publish. The stage stays in $work/NAME for the .deb.
publish_archive() {
  local rid=$1 name=$2
  shift 2
  local publish=$work/publish-$name stage=$work/$name
  echo "release.sh: publishing $name" >&2
  # The trimmer does not always rerun when only publish properties change: start each RID clean.
  rm -rf "src/Outbox/obj/Release/net10.0/$rid" "src/Outbox/bin/Release/net10.0/$rid"
  dotnet publish src/Outbox/Outbox.csproj -p:PublishProfile=release -r "$rid" -o "$publish" -nologo -v quiet "$@"
  # The executable and SQLite's native library; the referenced projects' .pdb/.xml stay behind.
  mkdir -p "$stage"
  find "$publish" -maxdepth 1 -type f ! -name '*.pdb' ! -name '*.xml' -exec cp {} "$stage/" \;
  cp -r sql config docs "$stage/"
  cp README.md LICENSE CHANGELOG.md "$stage/"
  case "$rid" in
    win-*) (cd "$work" && zip -qr "../$name.zip" "$name") ;;
    *)     tar -C "$work" --owner=0 --group=0 -czf "$out/$name.tar.gz" "$name" ;;
  esac
}

for rid in "${rids[@]}"; do
  publish_archive "$rid" "outbox-$version-$rid"
  case "$rid" in
    win-*) ;;
    *) build/deb.sh "$work/outbox-$version-$rid" "$version" "$rid" "$out" ;;
  esac
done

# Oracle's driver cannot be in the archives above (this project's package source does not serve
# it); where the sources do, the same archives are made with it built in (docs/oracle.md).
if dotnet restore src/Outbox/Outbox.csproj -p:WithOracle=true -nologo -v quiet >"$work/oracle-restore.log" 2>&1; then
  for rid in "${rids[@]}"; do
    publish_archive "$rid" "outbox-$version-$rid-oracle" -p:WithOracle=true
  done
else
  echo "release.sh: no Oracle variant: the package sources do not serve Oracle.ManagedDataAccess.Core ($(grep -m1 -o 'NU[0-9]*: .*' "$work/oracle-restore.log" || echo 'restore failed'))" >&2
fi

echo "release.sh: packing the NuGet packages" >&2
for project in src/Outbox.Core src/Outbox.Storage src/Outbox; do
  dotnet pack "$project" -c Release -o "$out" -nologo -v quiet
done

rm -rf "$work"
# Only the kinds this run made (no .zip without win-x64): unmatched patterns expand to nothing.
(cd "$out" && shopt -s nullglob && sha256sum -- *.tar.gz *.zip *.deb *.nupkg > SHA256SUMS)
ls -l "$out" >&2
