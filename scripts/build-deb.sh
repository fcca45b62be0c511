#!/usr/bin/env bash
# Builds the Debian package build-deb/vpp-maglev_<version>_<arch>.deb in one command:
#   1. configures build-deb/ (Release, Ninja) unless it is configured already, and builds
#      maglevd, maglevc, maglev-vppsim and maglevd-frontend,
#   2. installs them with the CMake install rules into a staging root (DESTDIR, prefix /usr,
#      stripped), adds the Debian-specific files from packaging/ (systemd unit, default config,
#      /etc/default/maglevd, copyright, changelog) and gzips the man pages,
#   3. writes DEBIAN/ (control with Depends from dpkg-shlibdeps, conffiles, maintainer scripts,
#      md5sums) and runs `dpkg-deb --build --root-owner-group`.
#
# Options:
#   --build-dir DIR   package the programs of an existing configured build tree instead of
#                     build-deb/ (any build type; the three programs are built there if needed)
#   --output-dir DIR  where the .deb (and the staging root, deb-root/) go; default: the build dir
# Prints the path of the package on the last line.
set -euo pipefail
umask 022

src=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$src/build-deb"
own_tree=1
out_dir=""

die() {
  echo "build-deb: error: $*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --build-dir)
      [ $# -ge 2 ] || die "--build-dir needs a directory"
      build_dir=$2
      own_tree=0
      shift 2
      ;;
    --output-dir)
      [ $# -ge 2 ] || die "--output-dir needs a directory"
      out_dir=$2
      shift 2
      ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
out_dir=${out_dir:-$build_dir}

for tool in cmake ninja dpkg-deb dpkg-shlibdeps dpkg-parsechangelog dpkg-buildflags gzip md5sum strip; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (scripts/install-deps.sh installs it)"
done

# The version is the one in the top-level project() call; the changelog must agree.
version=$(sed -nE 's/^project\(vpp-maglev[[:space:]]+VERSION[[:space:]]+([0-9][0-9.]*).*/\1/p' \
  "$src/CMakeLists.txt")
[ -n "$version" ] || die "no 'project(vpp-maglev VERSION x.y.z ...)' in $src/CMakeLists.txt"
changelog="$src/packaging/debian/changelog"
changelog_version=$(dpkg-parsechangelog -l "$changelog" -S Version)
[ "$changelog_version" = "$version" ] ||
  die "packaging/debian/changelog's newest entry is $changelog_version but the project version" \
    "is $version: add a changelog entry for $version"
arch=$(dpkg --print-architecture)
# Reproducible timestamps: every file's mtime is clamped to the changelog's date.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

# Everything the package is made of must exist before anything is built.
man_pages=(docs/man/maglevd.8 docs/man/maglevc.1 docs/man/maglev-vppsim.1 docs/man/maglevd-frontend.8)
required=("${man_pages[@]}" README.md examples/maglev.yaml
  packaging/systemd/maglevd.service packaging/systemd/maglevd-frontend.service
  packaging/debian/maglevd-frontend.default packaging/debian/control.in packaging/debian/conffiles
  packaging/debian/copyright packaging/debian/maglevd.default
  packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm)
missing=()
for f in "${required[@]}"; do
  [ -f "$src/$f" ] || missing+=("$f")
done
((${#missing[@]} == 0)) || die "missing source files: ${missing[*]}"

# 1. Build.
if ((own_tree)); then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    # Debian's hardening flags (stack protector, fortify, full RELRO and BIND_NOW; PIE is
    # the compiler's default), as a Debian build would use them; CMake's Release flags
    # (-O3 -DNDEBUG) take the place of -g -O2.
    flags() {
      (cd "$src" && DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_CFLAGS_MAINT_STRIP="-g -O2" \
        DEB_CXXFLAGS_MAINT_STRIP="-g -O2" dpkg-buildflags --get "$1")
    }
    cppflags=$(flags CPPFLAGS)
    echo "build-deb: configuring $build_dir (Release, Ninja, Debian hardening flags)"
    cmake -S "$src" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      "-DCMAKE_C_FLAGS=$(flags CFLAGS) $cppflags" "-DCMAKE_CXX_FLAGS=$(flags CXXFLAGS) $cppflags" \
      "-DCMAKE_EXE_LINKER_FLAGS=$(flags LDFLAGS)" >/dev/null
  fi
else
  [ -f "$build_dir/CMakeCache.txt" ] || die "$build_dir is not a configured CMake build tree"
fi
grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt" ||
  die "$build_dir was not configured with Ninja"
echo "build-deb: building maglevd maglevc maglev-vppsim maglevd-frontend in $build_dir"
cmake --build "$build_dir" -j"$(nproc)" --target maglevd maglevc maglev-vppsim maglevd-frontend

# 2. Stage.
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
root="$out_dir/deb-root"
rm -rf "$root"
mkdir -p "$root"
DESTDIR="$root" cmake --install "$build_dir" --prefix /usr --strip >/dev/null
for binary in usr/sbin/maglevd usr/bin/maglevc usr/bin/maglev-vppsim usr/sbin/maglevd-frontend; do
  # What dh_strip removes beyond `strip`: compiler version strings and notes.
  if [ -f "$root/$binary" ]; then
    strip --remove-section=.comment --remove-section=.note "$root/$binary"
  fi
done
install -D -m 0644 "$src/packaging/systemd/maglevd.service" "$root/lib/systemd/system/maglevd.service"
install -D -m 0644 "$src/packaging/systemd/maglevd-frontend.service" \
  "$root/lib/systemd/system/maglevd-frontend.service"
install -D -m 0644 "$src/packaging/debian/maglevd-frontend.default" "$root/etc/default/maglevd-frontend"
install -D -m 0644 "$src/examples/maglev.yaml" "$root/etc/vpp-maglev/maglev.yaml"
install -D -m 0644 "$src/packaging/debian/maglevd.default" "$root/etc/default/maglevd"
doc="$root/usr/share/doc/vpp-maglev"
install -D -m 0644 "$src/packaging/debian/copyright" "$doc/copyright"
gzip -9n -c "$changelog" >"$doc/changelog.Debian.gz"
if [ -d "$root/usr/share/man" ]; then
  find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9nf {} +
fi

# The install rules live in several CMakeLists.txt: check that they produced the whole package.
expected=(usr/sbin/maglevd usr/bin/maglevc usr/bin/maglev-vppsim usr/sbin/maglevd-frontend
  lib/systemd/system/maglevd.service lib/systemd/system/maglevd-frontend.service
  etc/vpp-maglev/maglev.yaml etc/default/maglevd etc/default/maglevd-frontend
  usr/share/doc/vpp-maglev/README.md usr/share/doc/vpp-maglev/copyright
  usr/share/doc/vpp-maglev/changelog.Debian.gz usr/share/vpp-maglev/examples/maglev.yaml)
for page in "${man_pages[@]}"; do
  name=${page##*/}
  expected+=("usr/share/man/man${name##*.}/$name.gz")
done
missing=()
for f in "${expected[@]}"; do
  [ -f "$root/$f" ] || missing+=("/$f")
done
((${#missing[@]} == 0)) ||
  die "the install step did not produce: ${missing[*]} (is packaging/ added to the top-level CMakeLists.txt?)"

# Modes do not depend on the umask or on how the source files were checked out.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/sbin/maglevd" "$root/usr/bin/maglevc" "$root/usr/bin/maglev-vppsim" \
  "$root/usr/sbin/maglevd-frontend"

# 3. Control area.
mkdir -p "$root/DEBIAN"
work="$out_dir/deb-work"
rm -rf "$work"
mkdir -p "$work/debian"
# dpkg-shlibdeps wants to run in a source tree: a minimal debian/control is enough.
printf 'Source: vpp-maglev\n\nPackage: vpp-maglev\nArchitecture: any\n' >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O "$root/usr/sbin/maglevd" "$root/usr/bin/maglevc" \
  "$root/usr/bin/maglev-vppsim" "$root/usr/sbin/maglevd-frontend" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no shared-library dependencies"
rm -rf "$work"
depends="$shlibs, adduser (>= 3.130)"
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)

control=$(<"$src/packaging/debian/control.in")
control=${control//@VERSION@/$version}
control=${control//@ARCH@/$arch}
control=${control//@DEPENDS@/$depends}
control=${control//@INSTALLED_SIZE@/$installed_size}
printf '%s\n' "$control" >"$root/DEBIAN/control"
install -m 0644 "$src/packaging/debian/conffiles" "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$src/packaging/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

deb="$out_dir/vpp-maglev_${version}_${arch}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "build-deb: built $deb"
echo "$deb"
