"""The Flowdesk HTTP server (``flowdesk serve``): the engine and store behind ``/api/v1``."""

from engine.server.app import create_app

__all__ = ["create_app"]
