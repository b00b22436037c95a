"""The lowest layer: facts about the project itself that every other package may use.

What the jobs run (the content-addressed code bundle, `project.bundle`), the images they run in
(`project.images`), and the defaults shared by the local runner, the registry and the notebooks
(`project.defaults`). No SageMaker SDK at import time and no import of steps/, pipelines/ or
model_registry/: see tests/test_layers.py for the order the packages import each other in.
"""
