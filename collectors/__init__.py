"""Collectors: SNMP devices, Proxmox hypervisors and Prometheus into samples and CIs."""
