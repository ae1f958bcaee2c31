"""Real protocol peers the tests start on loopback: Prometheus, Alertmanager, receivers."""
