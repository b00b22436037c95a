"""python -m model_registry --help"""

from model_registry.cli import cli

raise SystemExit(cli())
