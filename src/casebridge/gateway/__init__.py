"""The gateway (sub-platform) daemon of one agency: legacy adapters, outbox, inbox.

Not built yet; ARCHITECTURE.md describes it. The package exists so that the layer has its place.
"""
