#!/usr/bin/env bash
# Builds the Lambda artifact: target/lambda/lightsout.zip with `bootstrap` (the release binary,
# linked against glibc 2.34, the version provided.al2023 ships) and the schedule files.
#
#   deploy/build-lambda.sh [SCHEDULES_DIR]      (default: LIGHTSOUT_SCHEDULES_DIR or schedules/)
#
# - installs cargo-lambda (PyPI, with ziglang: zig is the cross linker that targets an older glibc
#   than this machine's) into the project's venv target/venv, through .ci/python-env lambda;
# - cargo lambda build --release --disable-optimizations --locked --bin lightsout
#     --target x86_64-unknown-linux-gnu.2.34
#   (--disable-optimizations keeps Cargo.toml's [profile.release] as it is: LTO, codegen-units 1,
#   stripped, panics unwind. Without it cargo-lambda adds panic = "abort", which would make a
#   panic kill the runtime instead of failing one invocation, and -C target-cpu=haswell.)
#   The LTO release build takes 10-19 min from cold on 2 cores;
# - checks the schedule files with the binary itself (`lightsout check`), and packages them
#   under schedules/ with every holiday_calendar .ics they reference;
# - writes the zip deterministically (fixed timestamps, sorted entries), so an unchanged build
#   gives an unchanged source_code_hash;
# - runs deploy/check-glibc.sh on bootstrap and prints the sizes.
# Output: LIGHTSOUT_LAMBDA_ZIP (default <repo>/target/lambda/lightsout.zip). Honours CARGO_TARGET_DIR.
#
# For CI (.ci/deploy-checks), not for deploying:
# - LIGHTSOUT_LAMBDA_BINARY=PATH packages that binary instead of building one (CI packages the
#   binary its tests built and ran; the zip goes to lightsout-ci.zip unless LIGHTSOUT_LAMBDA_ZIP
#   says otherwise). The schedule check and the glibc check run on it all the same.
# - LIGHTSOUT_CI_FAST_PACKAGE=1 builds the same cross build with a `ci-package` profile (the dev
#   profile's opt-level 0, no debug info), a few times quicker from cold than LTO.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

schedules=${1:-${LIGHTSOUT_SCHEDULES_DIR:-schedules}}
zip_out=${LIGHTSOUT_LAMBDA_ZIP:-$repo/target/lambda/lightsout.zip}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
triple=x86_64-unknown-linux-gnu
glibc=2.34
zip_level=9

if [ ! -d "$schedules" ] || ! compgen -G "$schedules/*.toml" >/dev/null; then
  echo "build-lambda: no schedule files (*.toml) in $schedules" >&2
  exit 2
fi
for tool in zip:zip unzip:unzip objdump:binutils; do
  command -v "${tool%%:*}" >/dev/null || {
    echo "build-lambda: ${tool%%:*} is required (Debian/Ubuntu: apt-get install ${tool#*:})" >&2
    exit 2
  }
done

if [ -n "${LIGHTSOUT_LAMBDA_BINARY:-}" ]; then
  bin=$LIGHTSOUT_LAMBDA_BINARY
  [ -x "$bin" ] || { echo "build-lambda: LIGHTSOUT_LAMBDA_BINARY=$bin is not an executable file" >&2; exit 2; }
  zip_out=${LIGHTSOUT_LAMBDA_ZIP:-$repo/target/lambda/lightsout-ci.zip}
  zip_level=1 # a check of the packaging, not an upload: quick beats small
  echo "build-lambda: packaging $bin (LIGHTSOUT_LAMBDA_BINARY: a CI check; do not deploy)"
else
  .ci/python-env lambda
  if [ "${LIGHTSOUT_CI_FAST_PACKAGE:-0}" = 1 ]; then
    # The same sources, target triple, zig linker and glibc check, built with a `ci-package`
    # profile defined here on the command line, so Cargo.toml keeps one release profile. An
    # unoptimised build keeps every call that LTO and inlining remove, so it references at least
    # the glibc symbols the release build does (measured: the release binary's 189 versioned
    # glibc references are a subset of this build's 193). Not an artifact to deploy: it goes to
    # lightsout-ci.zip unless LIGHTSOUT_LAMBDA_ZIP says otherwise.
    profile=ci-package
    profile_args=(--config 'profile.ci-package.inherits="dev"' --config 'profile.ci-package.debug=false'
      --config 'profile.ci-package.incremental=false' --profile ci-package)
    zip_out=${LIGHTSOUT_LAMBDA_ZIP:-$repo/target/lambda/lightsout-ci.zip}
    kind="CI check: ci-package profile, unoptimised; do not deploy"
  else
    profile=release
    profile_args=(--release --disable-optimizations)
    kind="release: Cargo.toml's profile (LTO, codegen-units=1, stripped)"
  fi
  echo "build-lambda: cargo lambda build --target $triple.$glibc ($kind)"
  start=$(date +%s)
  # cargo-lambda finds zig through `python3 -m ziglang`: the venv's python3 first on PATH.
  # It moves the binary to LAMBDA_DIR/lightsout/bootstrap.
  PATH=$repo/target/venv/bin:$PATH cargo-lambda lambda build --locked "${profile_args[@]}" \
    --target "$triple.$glibc" --bin lightsout --lambda-dir "$target_dir/lambda/$profile"
  echo "build-lambda: built in $(($(date +%s) - start)) s"
  bin=$target_dir/lambda/$profile/lightsout/bootstrap
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/schedules"
install -m 0755 "$bin" "$stage/bootstrap"
for f in "$schedules"/*.toml; do
  install -m 0644 "$f" "$stage/schedules/"
  # holiday_calendar = "x.ics" is relative to the schedule file.
  sed -n 's/^[[:space:]]*holiday_calendar[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r ics; do
    src=$(dirname "$f")/$ics
    [ -f "$src" ] || { echo "build-lambda: $f references $ics, which does not exist" >&2; exit 1; }
    mkdir -p "$stage/schedules/$(dirname "$ics")"
    install -m 0644 "$src" "$stage/schedules/$ics"
  done
done

# The packaged schedules must load, exactly as the function will read them.
"$stage/bootstrap" check "$stage/schedules"

deploy/check-glibc.sh "$stage/bootstrap" "$glibc"

mkdir -p "$(dirname "$zip_out")"
rm -f "$zip_out"
find "$stage" -exec touch -h -d '2000-01-01 00:00:00 UTC' {} +
(cd "$stage" && find . -mindepth 1 ! -type d -printf '%P\n' | LC_ALL=C sort | zip -q -X "-$zip_level" "$zip_out" -@)

echo "build-lambda: $zip_out"
unzip -l "$zip_out" | sed 's/^/  /'
awk -v b="$(stat -c %s "$stage/bootstrap")" -v z="$(stat -c %s "$zip_out")" 'BEGIN {
  printf "build-lambda: bootstrap %d bytes (%.1f MiB), zip %d bytes (%.1f MiB)\n", b, b / 1048576, z, z / 1048576
}'
