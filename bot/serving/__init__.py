"""Serving the core: the command line and the chat page server."""
