"""casebridge: the cross-department criminal case handling platform (hub and agency gateways)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
