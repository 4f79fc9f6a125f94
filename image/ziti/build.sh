#!/bin/sh
# Build the OpenZiti binaries the box and its tests use, from this module
# (github.com/openziti/ziti v1.7.2, pinned by go.mod and go.sum here):
#
#   image/ziti/build.sh [router|cli|all]      (default: router)
#
#   router  BUILD/ziti/ziti-router  run + enroll only; goes into the image
#   cli     BUILD/ziti/ziti         the full CLI; host tests need it for
#                                   `ziti edge quickstart` and `ziti edge ...`
#
# BUILD is $TUNNELER_BUILD, else $BUILD, else build/ at the repo root.
# Static and stripped. A binary is rebuilt only when its inputs changed:
# go.mod, go.sum, main.go (router only), this script, and the Go version;
# their hash sits in a .stamp beside the binary. A cached call takes well
# under a second; a cold one ~5 min and ~2 GB on 2 cores (the Go build
# cache in $(go env GOCACHE) makes the second binary much cheaper).
# Prints the path of each binary it built or found up to date.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${TUNNELER_BUILD:-${BUILD:-$root/build}}
case $build in /*) ;; *) build=$root/$build ;; esac
out=$build/ziti
GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
what=${1:-router}

# The first fetch needs these: the checksum database does not know one of
# openziti's modules, and go.sum here is what pins them.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/openziti/*"
export GOFLAGS="-mod=mod ${GOFLAGS:-}"
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64

ldflags="-s -w -X github.com/openziti/ziti/common/version.Version=v1.7.2 -X github.com/openziti/ziti/common/version.Revision=tunneler"

hashof() {
	{ "$GO" version; cat "$here/build.sh" "$here/go.mod" "$here/go.sum"; for f in "$@"; do cat "$f"; done; } | sha256sum | cut -d' ' -f1
}

# buildone NAME PKG INPUT...
buildone() {
	name=$1 pkg=$2
	shift 2
	bin=$out/$name
	want=$(hashof "$@")
	if [ -x "$bin" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$want" ]; then
		echo "$bin"
		return
	fi
	echo "building $bin from $pkg (cold: ~5 min)" >&2
	tmp=$(mktemp "$bin.XXXXXX")
	if ! (cd "$here" && "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
		rm -f "$tmp"
		exit 1
	fi
	chmod 755 "$tmp"
	mv "$tmp" "$bin"
	echo "$want" >"$bin.stamp"
	echo "$bin"
}

mkdir -p "$out"
# One build at a time (make test and make image may both ask): the
# second waits, then finds the binary up to date.
if command -v flock >/dev/null 2>&1 && [ -z "${ZITI_BUILD_LOCKED:-}" ]; then
	export ZITI_BUILD_LOCKED=1
	exec flock "$out/.lock" "$0" "$@"
fi

case $what in
router) buildone ziti-router . "$here/main.go" ;;
cli) buildone ziti github.com/openziti/ziti/ziti ;;
all)
	buildone ziti-router . "$here/main.go"
	buildone ziti github.com/openziti/ziti/ziti
	;;
*)
	echo "usage: $0 [router|cli|all]" >&2
	exit 2
	;;
esac
