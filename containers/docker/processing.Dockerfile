# Project image for the processing scripts (cleaning, NER + network, zero-shot themes, datasets, fingerprint).
# Built by `make build-containers` (python -m pipelines build-containers) with the build context containers/:
#   docker build -f containers/docker/processing.Dockerfile --build-arg BASE_IMAGE=<AWS DLC URI> containers
# BASE_IMAGE is the AWS Deep Learning Container the SDK resolves offline from conf (images.*); the tag of
# the result is a hash of this file, the requirements and the base, so the pipeline definition can name
# it without asking ECR. The code itself is not baked in: jobs get the content-addressed code bundle.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY processing/requirements.txt /tmp/requirements/processing.txt
# torch stays the DLC's own CUDA build: the constraint keeps pip from replacing it.
RUN python3 -c "import torch; print(f'torch=={torch.__version__.split(\"+\")[0]}')" > /tmp/requirements/torch-constraint.txt \
    && python3 -m pip install -r /tmp/requirements/processing.txt -c /tmp/requirements/torch-constraint.txt \
    && rm -rf /tmp/requirements
