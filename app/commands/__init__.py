"""Command-line groups. Each is a thin shell over a service."""
