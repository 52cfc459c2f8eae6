#!/usr/bin/env bash
# Install the Debian packages chrono-bench runs (docs/environment.md), only those missing.
# Does nothing unless run as root on a machine with apt-get: elsewhere the user installs
# them, and the commands that need one say which is missing.
set -euo pipefail

PACKAGES=(
  postgresql            # the database (its server refuses root: the harness runs it as postgres)
  redis-server          # cache and Celery broker
  prometheus            # metrics store the collectors query
  prometheus-postgres-exporter
  prometheus-redis-exporter
  wrk                   # the load generator's yardstick
  nginx-light           # a trivial endpoint faster than the API, for loadgen_max_rps
  chromium              # report and frontend tests, headless
  debootstrap           # the offline image set's base
  docker.io             # compose runtime and deploy tests
  iproute2              # network namespaces for multi-host tests
  openssh-server        # the "hosts" in those namespaces
)

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
