"""pytest fixtures for the notification peers (register as a plugin or import in a conftest).

    from tests.peers.fixtures import http_receiver, smtp_sink  # noqa: F401

``http_receiver``: a capturing HTTP server on 127.0.0.1 (WeCom / DingTalk / webhook
stand-in); ``http_receiver_factory``: as many as a test needs; ``smtp_sink``: an SMTP
server on 127.0.0.1 keeping each message; ``refused_url``: an http URL on a loopback
port nobody listens on (a dead channel). All are stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from tests.peers.loopback import LOOPBACK, free_port
from tests.peers.receivers import (
    HttpReceiver,
    SmtpSink,
    running_http_receiver,
    running_smtp_sink,
)

ReceiverFactory = Callable[[], HttpReceiver]


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with running_http_receiver() as receiver:
        yield receiver


@pytest.fixture
def http_receiver_factory() -> Iterator[ReceiverFactory]:
    with ExitStack() as stack:

        def start() -> HttpReceiver:
            return stack.enter_context(running_http_receiver())

        yield start


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture
def refused_url() -> str:
    """A loopback URL whose port was free a moment ago: connections are refused."""
    return f"http://{LOOPBACK}:{free_port()}"
