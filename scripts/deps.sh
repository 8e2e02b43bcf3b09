#!/usr/bin/env bash
# Installs the Debian packages roster needs to build, test and run, if any is missing.
# As root it runs apt-get (update first); otherwise it prints the exact command to run.
# HTTPS: Debian's libmicrohttpd is built with GnuTLS (roster serve --tls-cert/--tls-key);
# the tests make their certificates with the openssl command; tests/api/faults.test.mjs
# fails the SQLite store's writes with strace's syscall injection. prometheus: only for its
# promtool, which the API tests run on GET /metrics (the daemon is not used). clang and
# libclang-rt-dev (libFuzzer and the sanitizer runtimes) build the fuzz targets (make fuzz);
# gcc's ThreadSanitizer runtime (make tsan) comes with build-essential. libcurl: the SMTP
# channel; python3-aiosmtpd: the SMTP server of the delivery tests.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
      libssl-dev sqlite3 libpq-dev postgresql nodejs npm clang-format cppcheck openssl
      libcrypt-dev strace prometheus libcurl4-openssl-dev python3-aiosmtpd clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from outside Debian on some machines: accept working binaries
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "missing packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
