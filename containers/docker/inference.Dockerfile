# Project image for the model servers: the DLC inference toolkit loads code/inference.py (model_fn/input_fn/predict_fn/output_fn) from model.tar.gz.
# Built by `make build-containers` (python -m pipelines build-containers) with the build context containers/:
#   docker build -f containers/docker/inference.Dockerfile --build-arg BASE_IMAGE=<AWS DLC URI> containers
# BASE_IMAGE is the AWS Deep Learning Container the SDK resolves offline from conf (images.*); the tag of
# the result is a hash of this file, the requirements and the base, so the pipeline definition can name
# it without asking ECR. The code itself is not baked in: jobs get the content-addressed code bundle.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY inference/requirements.txt /tmp/requirements/inference.txt
# torch stays the DLC's own CUDA build: the constraint keeps pip from replacing it.
RUN python3 -c "import torch; print(f'torch=={torch.__version__.split(\"+\")[0]}')" > /tmp/requirements/torch-constraint.txt \
    && python3 -m pip install -r /tmp/requirements/inference.txt -c /tmp/requirements/torch-constraint.txt \
    && rm -rf /tmp/requirements
