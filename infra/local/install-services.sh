#!/usr/bin/env bash
# Makes sure the Debian packages of the local stack are installed: mosquitto, nats-server,
# redis-server, Prometheus and Alertmanager (with promtool and amtool) for monitoring, and
# chromium for the risk-map page test. Installs the missing ones with
# apt-get when running as root (or with sudo).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/usr/local/sbin"

missing=()
command -v mosquitto >/dev/null || missing+=(mosquitto)
command -v nats-server >/dev/null || missing+=(nats-server)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v promtool >/dev/null || missing+=(prometheus)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
# The risk-map page is tested in real headless Chromium (serving/test/page.test.ts).
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "missing ${missing[*]}: install them with apt-get (root needed)" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages may start system-wide daemons on the default ports; the project uses its own
# private instances on free ports, so those are left alone.
