"""End-to-end tests: Fulcrum as a real HTTP server with real peers on loopback."""
