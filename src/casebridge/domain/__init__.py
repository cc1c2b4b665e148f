"""The pure domain: model and rules of criminal case handling. Standard library only, no I/O."""
