# gnn-sweeper: one image for workers and the dashboard (docker-compose.yml builds it).
# CPU torch by default; for GPUs build with a CUDA wheel index, e.g.
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# torch first, from the chosen index, so the project install never pulls another build.
RUN pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX}"
COPY pyproject.toml README.md ./
COPY sweeper ./sweeper
COPY objectives ./objectives
COPY storage ./storage
COPY examples ./examples
RUN pip install . && useradd --create-home --uid 1000 sweeper && mkdir -p /app/data \
    && chown sweeper /app/data
USER sweeper

# Workers need only SWEEPER_STORAGE and a study name: `sweeper worker --study NAME`.
ENTRYPOINT ["sweeper"]
CMD ["--help"]
