"""Security adapters: certificates (a development PKI) and transport identity."""
