# Project image for training (train_chatbot.py, train_classifier.py, run by the DLC training toolkit under torchrun) and evaluation.
# Built by `make build-containers` (python -m pipelines build-containers) with the build context containers/:
#   docker build -f containers/docker/training.Dockerfile --build-arg BASE_IMAGE=<AWS DLC URI> containers
# BASE_IMAGE is the AWS Deep Learning Container the SDK resolves offline from conf (images.*); the tag of
# the result is a hash of this file, the requirements and the base, so the pipeline definition can name
# it without asking ECR. The code itself is not baked in: jobs get the content-addressed code bundle.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY training/requirements.txt /tmp/requirements/training.txt
COPY evaluation/requirements.txt /tmp/requirements/evaluation.txt
# torch stays the DLC's own CUDA build: the constraint keeps pip from replacing it.
RUN python3 -c "import torch; print(f'torch=={torch.__version__.split(\"+\")[0]}')" > /tmp/requirements/torch-constraint.txt \
    && python3 -m pip install -r /tmp/requirements/training.txt -r /tmp/requirements/evaluation.txt -c /tmp/requirements/torch-constraint.txt \
    && rm -rf /tmp/requirements
