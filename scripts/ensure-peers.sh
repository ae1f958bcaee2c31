#!/usr/bin/env bash
# Install the real protocol peers the tests start on loopback (Debian packages):
# snmpd (net-snmp), prometheus, prometheus-alertmanager, and prometheus-snmp-exporter
# (the benchmark's peer). Packages only: the tests start and stop each daemon themselves.
set -euo pipefail
need=()
command -v snmpd >/dev/null 2>&1 || need+=(snmpd)
command -v snmpget >/dev/null 2>&1 || need+=(snmp)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v prometheus-snmp-exporter >/dev/null 2>&1 || need+=(prometheus-snmp-exporter)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' init scripts from starting daemons on their default ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
[ "$created_policy" -eq 1 ] && rm -f "$policy"
# Some package scripts start their daemon anyway; nothing of ours may listen by default.
for daemon in snmpd prometheus prometheus-alertmanager prometheus-snmp-exporter; do
  pkill -x "$daemon" 2>/dev/null || true
done
exit 0
