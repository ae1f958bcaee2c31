"""Notification tests use the local receivers (until the lead registers them globally)."""

from tests.peers.fixtures import (  # noqa: F401  (fixtures)
    http_receiver,
    http_receiver_factory,
    refused_url,
    smtp_sink,
)
