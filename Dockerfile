# One image for every tickcast service (producer, worker, api) and the MLflow server.
# Build stage: a virtualenv with tickcast and its server extras; runtime: that venv, non-root.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tickcast ./tickcast
RUN pip install ".[server]"

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 tickcast
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 TICKCAST_API_HOST=0.0.0.0
WORKDIR /home/tickcast
USER tickcast
EXPOSE 8000 9108 9109
ENTRYPOINT ["tickcast"]
CMD ["--help"]
