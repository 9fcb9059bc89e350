"""MCP client configurations: where each client keeps them (:mod:`.clients`),
raw-offset locators (:mod:`.structure`) and the ``keyscan mcp`` inventory
(:mod:`.inventory`)."""

from .clients import CLIENTS, Client, client_for, is_mcp_config

__all__ = ["CLIENTS", "Client", "client_for", "is_mcp_config"]
