#!/usr/bin/env bash
# Installs every Debian package that building, testing, benchmarking and the demo need.
# Idempotent: safe to run again; it only calls apt-get when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang-format clang libclang-rt-14-dev  # clang stage: thread-safety analysis, libFuzzer, sanitizers
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libasio-dev libssl-dev libyaml-cpp-dev libcli11-dev libre2-dev libedit-dev libsystemd-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev nlohmann-json3-dev
  python3 python3-grpcio python3-protobuf python3-prometheus-client
  iproute2 iputils-ping procps openssl curl haproxy prometheus
  debhelper dpkg-dev fakeroot systemd
  libboost1.81-dev libcpp-httplib-dev chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# maglevd-frontend's web app is built with npm from web/package-lock.json
# (the build runs `npm ci`), with Node.js 20.19 or newer (vite 8). Developer
# and CI machines come with Node.js 20 and npm; where there is none, Debian's
# are installed, and the build says so if they are too old.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-deps: installing nodejs npm (Debian's)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: warning: Node.js $(node --version 2>/dev/null) is older than 20: the web app will not build" >&2
fi
