#!/usr/bin/env bash
# Fails when BINARY needs a glibc newer than the Lambda runtime's (provided.al2023 ships 2.34).
#
#   deploy/check-glibc.sh BINARY [MAX_VERSION]     (MAX_VERSION default 2.34, or LIGHTSOUT_GLIBC_MAX)
#
# Reads the dynamic symbol table (objdump -T, from binutils) and compares every GLIBC_x.y symbol
# version the binary references with MAX. Exit 0: compatible (or statically linked); 1: a symbol
# needs a newer glibc (each such symbol is named); 2: usage or tool problem.
set -euo pipefail

bin=${1:?usage: deploy/check-glibc.sh BINARY [MAX_VERSION]}
max=${2:-${LIGHTSOUT_GLIBC_MAX:-2.34}}

if [ ! -f "$bin" ]; then
  echo "check-glibc: no such file: $bin" >&2
  exit 2
fi
if ! command -v objdump >/dev/null; then
  echo "check-glibc: objdump not found (apt-get install binutils)" >&2
  exit 2
fi
if ! head -c 4 "$bin" | grep -q 'ELF'; then
  echo "check-glibc: $bin is not an ELF binary" >&2
  exit 2
fi

if ! table=$(LC_ALL=C objdump -T "$bin" 2>&1); then
  if grep -q 'not a dynamic object' <<<"$table"; then
    echo "check-glibc: $bin is statically linked: needs no glibc at run time"
    exit 0
  fi
  echo "check-glibc: objdump -T $bin failed: $table" >&2
  exit 2
fi

# "0000... DF *UND* 0000... (GLIBC_2.34) __libc_start_main" -> "2.34 __libc_start_main"
refs=$(awk '{
  for (i = 1; i <= NF; i++) if ($i ~ /^\(?GLIBC_[0-9.]+\)?$/) {
    v = $i; gsub(/[()]|GLIBC_/, "", v); print v, $NF
  }
}' <<<"$table" | sort -u)

if [ -z "$refs" ]; then
  echo "check-glibc: $bin references no GLIBC symbol version"
  exit 0
fi

newest=$(cut -d' ' -f1 <<<"$refs" | sort -V | tail -1)
too_new=$(while read -r v sym; do
  if [ "$v" != "$max" ] && [ "$(printf '%s\n%s\n' "$v" "$max" | sort -V | tail -1)" = "$v" ]; then
    echo "  $sym needs GLIBC_$v"
  fi
done <<<"$refs")

if [ -n "$too_new" ]; then
  echo "check-glibc: FAIL: $bin needs glibc newer than $max (newest: GLIBC_$newest):" >&2
  echo "$too_new" >&2
  echo "  on Lambda (provided.al2023, glibc 2.34) it would fail to start with \"GLIBC_$newest not found\";" >&2
  echo "  build it with deploy/build-lambda.sh (cargo lambda build --target x86_64-unknown-linux-gnu.2.34)" >&2
  exit 1
fi
echo "check-glibc: ok: $bin needs at most GLIBC_$newest (limit $max; $(wc -l <<<"$refs") versioned symbols)"
