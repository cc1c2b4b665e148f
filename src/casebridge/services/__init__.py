"""Use cases. Each is a function of (input, unit of work); only the unit of work commits."""
