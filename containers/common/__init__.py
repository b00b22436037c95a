"""Helpers shared by the container scripts: I/O, logging, tiny offline models."""
