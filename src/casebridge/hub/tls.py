"""Mutual TLS for gateways: expose the verified client certificate to the application.

uvicorn's httptools protocol does not pass the peer certificate to ASGI; this subclass adds the
ASGI TLS extension (``scope["extensions"]["tls"]["client_cert_chain"]``) with the certificate
that the TLS layer has already verified against the configured client CA.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["PeerCertHttpToolsProtocol", "client_cert_der"]


class PeerCertHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self._peer_der: bytes | None = der

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._peer_der:
            pem = ssl.DER_cert_to_PEM_cert(self._peer_der)
            scope: Any = self.scope
            scope["extensions"] = {
                "tls": {"client_cert_chain": [pem], "client_cert_der": self._peer_der}
            }


def client_cert_der(scope: Any) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls") or {}
    der = tls.get("client_cert_der")
    return der if isinstance(der, bytes) else None
