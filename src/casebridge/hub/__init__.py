"""The hub (central platform): FastAPI application, JSON API and (later) web UI."""
