"""Fulcrum's edges: the FastAPI service, webhooks, the web console and the CLI."""
