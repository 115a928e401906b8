#!/usr/bin/env bash
# Makes outbox_VERSION_ARCH.deb from a release stage (what build/release.sh put in an archive),
# with dpkg-deb alone. Layout:
#   /usr/lib/outbox/          the executable and SQLite's native library; /usr/bin/outbox links to it
#   /etc/outbox/outbox.json   conffile (packaging/deb/outbox.json)
#   /lib/systemd/system/outbox.service
#   /usr/share/outbox/sql/    the install scripts
#   /usr/share/doc/outbox/    README, CHANGELOG, docs, copyright, config examples
# The maintainer scripts (packaging/deb) add the system user `outbox` and /var/lib/outbox.
#   build/deb.sh STAGE VERSION RID OUTDIR
set -euo pipefail
[ $# = 4 ] || { echo "usage: build/deb.sh STAGE VERSION RID OUTDIR" >&2; exit 2; }
stage=$1 version=$2 rid=$3 out=$4
cd "$(dirname "$0")/.."
case "$rid" in
  linux-x64) arch=amd64 ;;
  linux-arm64) arch=arm64 ;;
  *) echo "deb.sh: no Debian architecture for $rid" >&2; exit 2 ;;
esac

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -d "$root/DEBIAN" "$root/usr/lib/outbox" "$root/usr/bin" "$root/etc/outbox" \
  "$root/lib/systemd/system" "$root/usr/share/outbox" "$root/usr/share/doc/outbox"
install -m 0755 "$stage/outbox" "$root/usr/lib/outbox/outbox"
install -m 0644 "$stage"/*.so "$root/usr/lib/outbox/"
ln -s ../lib/outbox/outbox "$root/usr/bin/outbox"
install -m 0644 packaging/deb/outbox.json "$root/etc/outbox/outbox.json"
install -m 0644 packaging/deb/outbox.service "$root/lib/systemd/system/outbox.service"
cp -r "$stage/sql" "$root/usr/share/outbox/sql"
cp -r "$stage/docs" "$stage/config/examples" "$stage/README.md" "$stage/CHANGELOG.md" "$root/usr/share/doc/outbox/"
install -m 0644 packaging/deb/copyright "$root/usr/share/doc/outbox/copyright"
find "$root/usr/share" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/deb/control > "$root/DEBIAN/control"
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"

dpkg-deb --root-owner-group -Zxz --build "$root" "$out/outbox_${version}_${arch}.deb" >/dev/null
