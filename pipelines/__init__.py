"""DAG assembly and the CLI (`python -m pipelines --help`); the local runner lives in pipelines/local/.

`get_pipeline(cfg, session)` is the one entry point (pipelines/pipeline.py). Importing this package does
not import the SageMaker SDK (a 5 s import): the CLI loads it only for the commands that need it.
"""
