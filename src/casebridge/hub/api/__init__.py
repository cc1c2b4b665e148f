"""The versioned JSON API. Routes parse input, call a service, and return its result."""
