"""The Gradio web app over the project's endpoints, registry and run outputs (`make app`).

Its own package: it reaches the models through serve-local's HTTP API or SageMaker Runtime, the
registry through model_registry's interface, and run outputs through the run folders or S3; all of
that behind `app.backend`. It never imports the SageMaker SDK.
"""
