#!/bin/sh
# build-deb.sh - build the Debian package hosted-milter_<version>_<arch>.deb
# from this tree: configure a build directory for /usr and /etc with the
# package layout (cmake/Package.cmake) and Debian's hardening flags, build,
# `cpack -G DEB`, and print the path of the .deb.
# usage: contrib/build-deb.sh [BUILD-DIR [DEBIAN-REVISION]]
#   BUILD-DIR        default build-deb (relative to the top of the tree)
#   DEBIAN-REVISION  the -N of the version, default 1
# Needs: cmake, the build dependencies (contrib/install-deps.sh) and
# dpkg-dev (dpkg-shlibdeps computes Depends from the linked libraries).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-deb}
release=${2:-1}

# Debian's compiler and linker flags (hardening: fortify, relro, bindnow).
DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_BUILD_MAINT_OPTIONS
eval "$(dpkg-buildflags --export=sh)"

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=None -DHM_DEB=ON -DHM_DEB_RELEASE="$release" \
    -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_SYSCONFDIR=/etc >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log" >&2; exit 1; }
rm -f "$build.configure.log"
cmake --build "$build" -j2 --target hosted-milter deb-files >/dev/null
rm -f "$build"/hosted-milter_*.deb
# Files are staged with the umask's permissions; the package wants 0644/0755.
(umask 022 && cd "$build" && cpack -G DEB >cpack.log 2>&1) || { cat "$build/cpack.log" >&2; exit 1; }
ls "$build"/hosted-milter_*.deb
