#!/bin/sh
# Prints the Debian packages (as name=version, one a line) that own the shared
# libraries the given ELF binaries load, so that the runtime image installs
# exactly what the build stage linked against and nothing else.
#
#   deploy/docker/runtime-packages.sh /out/bin/* > runtime-packages.txt
#
# Fails when a library is missing or is owned by no package (a library built
# by hand would silently be absent from the image otherwise).
set -eu
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Not a pipeline: an exit inside the loop must end the script.
: > "$work/all"
for bin in "$@"; do
  ldd "$bin" > "$work/ldd" || { echo "runtime-packages: ldd failed on $bin" >&2; exit 1; }
  if grep -q 'not found' "$work/ldd"; then
    grep 'not found' "$work/ldd" >&2
    echo "runtime-packages: $bin needs libraries that are not installed" >&2
    exit 1
  fi
  # "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the
  # loader's own line "/lib64/ld-linux-x86-64.so.2 (0x...)"; vdso has no file.
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' "$work/ldd" >> "$work/all"
done
sort -u "$work/all" > "$work/libs"

# dpkg records the path a package ships (/lib/... or /usr/lib/...); on a
# merged-/usr system ldd may print the other spelling or a symlink. Each
# library gets its candidate spellings; one dpkg-query call looks them all up.
while read -r lib; do
  real=$(readlink -f "$lib")
  for p in "$lib" "$real"; do
    printf '%s\t%s\n' "$lib" "$p"
    printf '%s\t%s\n' "$lib" "/usr$p"
    printf '%s\t%s\n' "$lib" "${p#/usr}"
  done
done < "$work/libs" | sort -u > "$work/candidates"
# Exit status 1 only says that some spellings are unknown, which is expected.
cut -f2 "$work/candidates" | xargs dpkg-query -S 2>/dev/null | grep -v '^diversion' \
  | sed -n 's/^\([^:]*\)\(:[^:]*\)\{0,1\}: \(.*\)$/\3\t\1/p' | sort -u > "$work/owners" || true

awk -F'\t' '
  NR == FNR { owner[$1] = $2; next }                 # owners: path -> package
  ($2 in owner) { found[$1] = owner[$2] }            # candidates: lib, path
  { libs[$1] = 1 }
  END {
    bad = 0
    for (l in libs) {
      if (!(l in found)) { print "runtime-packages: no Debian package owns " l > "/dev/stderr"; bad = 1 }
      else print found[l]
    }
    exit bad
  }' "$work/owners" "$work/candidates" > "$work/found"
sort -u "$work/found" > "$work/packages"

while read -r pkg; do
  printf '%s=%s\n' "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg")"
done < "$work/packages"
