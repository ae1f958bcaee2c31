"""Prometheus collector tests against Debian prometheus on loopback."""
