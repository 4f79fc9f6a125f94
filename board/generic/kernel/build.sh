#!/bin/sh
# Builds the generic board's kernel from Debian's linux-source-6.1 (Debian's
# patches and security fixes come with it) and the config fragment beside
# this script, and writes vmlinuz and vmlinuz.stamp here. Both are
# committed, as gokrazy's kernel repository does: an image build and a CI
# run use them as they are, and `build.sh` (make kernel) rebuilds only when
# the fragment, this script or the pinned source version (source-version)
# changed. vmlinuz.builtin is the kernel's modules.builtin: the board tests
# check the board's drivers list against it without a kernel tree.
#
# Usage: board/generic/kernel/build.sh [--check]
#   --check  exit 0 when vmlinuz matches its stamp, 1 (and say why) if not
#
# The source tree and the object tree live in $KERNEL_CACHE (default
# /var/cache/tunneler/kernel, else ~/.cache/tunneler/kernel), so a rebuild
# after a config change is incremental. A cold build takes ~14 min on 2 cores.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
version=$(cat "$here/source-version")

# stamp names the inputs of a build, one line each, so a stale kernel says
# which input changed.
stamp() {
	echo "source linux-source-6.1 $version"
	echo "config $(sha256sum <"$here/config" | cut -d' ' -f1)"
	echo "script $(sha256sum <"$here/build.sh" | cut -d' ' -f1)"
}

# outputs names the built files by their hashes.
outputs() {
	echo "vmlinuz $(sha256sum <"$here/vmlinuz" | cut -d' ' -f1)"
	echo "builtin $(sha256sum <"$here/vmlinuz.builtin" | cut -d' ' -f1)"
}

# check compares vmlinuz.stamp with the inputs and with vmlinuz itself.
check() {
	if [ ! -f "$here/vmlinuz" ] || [ ! -f "$here/vmlinuz.builtin" ] || [ ! -f "$here/vmlinuz.stamp" ]; then
		echo "kernel: no vmlinuz, vmlinuz.builtin or vmlinuz.stamp in $here: run make kernel" >&2
		return 1
	fi
	want=$(stamp; outputs)
	if [ "$want" != "$(cat "$here/vmlinuz.stamp")" ]; then
		echo "kernel: $here/vmlinuz is stale; inputs differ from its stamp:" >&2
		echo "$want" | diff "$here/vmlinuz.stamp" - >&2 || true
		return 1
	fi
}

if [ "${1:-}" = "--check" ]; then
	check
	exit
fi
if check 2>/dev/null; then
	echo "kernel: $here/vmlinuz matches its stamp"
	exit 0
fi

have=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [ "$have" != "$version" ]; then
	echo "kernel: need linux-source-6.1 $version (source-version), have '${have:-none}'." >&2
	echo "  Install it (scripts/install-deps), or move the pin: write the installed version" >&2
	echo "  to $here/source-version and rebuild." >&2
	exit 1
fi
tarball=/usr/src/linux-source-6.1.tar.xz

cache=${KERNEL_CACHE:-/var/cache/tunneler/kernel}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/tunneler/kernel
	mkdir -p "$cache"
fi
src=$cache/src-$version
obj=$cache/obj-$version
if [ ! -f "$src/Makefile" ]; then
	echo "kernel: unpacking $tarball into $src"
	rm -rf "$src.new"
	mkdir -p "$src.new"
	tar -xJf "$tarball" -C "$src.new" --strip-components=1
	mv "$src.new" "$src"
fi
mkdir -p "$obj"

# allnoconfig, then the fragment: only what the fragment asks for (and what
# that depends on) is in the kernel.
(cd "$src" && ARCH=x86_64 scripts/kconfig/merge_config.sh -n -O "$obj" "$here/config" >"$obj/merge.log")
# Every line of the fragment must have survived: a symbol whose dependencies
# are not met is dropped by kconfig without an error.
missing=$(grep -E '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$here/config" | while read -r line; do
	grep -qxF "$line" "$obj/.config" || echo "  $line"
done)
if [ -n "$missing" ]; then
	echo "kernel: these lines of $here/config did not survive into .config (dependency not met or misspelt):" >&2
	echo "$missing" >&2
	exit 1
fi

start=$(date +%s)
jobs=${KERNEL_JOBS:-$(nproc)}
echo "kernel: building linux-source-6.1 $version in $obj (nice, -j$jobs)"
nice -n 19 make -s -C "$src" O="$obj" ARCH=x86_64 -j"$jobs" \
	KBUILD_BUILD_TIMESTAMP="$(date -u -R -r "$tarball")" KBUILD_BUILD_USER=tunneler KBUILD_BUILD_HOST=tunneler \
	bzImage
echo "kernel: built in $(($(date +%s) - start)) s"

cp "$obj/arch/x86/boot/bzImage" "$here/vmlinuz.new"
mv "$here/vmlinuz.new" "$here/vmlinuz"
cp "$obj/modules.builtin" "$here/vmlinuz.builtin"
(stamp; outputs) >"$here/vmlinuz.stamp"
echo "kernel: $here/vmlinuz ($(stat -c %s "$here/vmlinuz") bytes)"
