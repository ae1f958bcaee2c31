"""The CMDB: configuration items, their typed relationships, history and impact."""
