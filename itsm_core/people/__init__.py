"""Users, groups, roles and API tokens."""
