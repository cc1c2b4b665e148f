"""Compiled helpers, each optional: casebridge runs the same without them, only slower.

``_sha256x`` (``sha256x.c``, built by ``make setup``) hashes many pages at once; use it
through :mod:`casebridge.native.sha256`, which falls back to :mod:`hashlib`.
"""
