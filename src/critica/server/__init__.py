"""critica as a service: ``create_app(store, config)`` builds the FastAPI app (API under ``/v1``, UI under ``/ui``).

Needs the ``server`` extra (``pip install 'critica[server]'``); ``critica serve`` runs it with uvicorn.
"""

from critica.server.app import create_app
from critica.server.settings import ServerConfig

__all__ = ["create_app", "ServerConfig"]
