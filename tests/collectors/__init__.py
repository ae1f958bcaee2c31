"""Collector tests (against real peers on loopback)."""
