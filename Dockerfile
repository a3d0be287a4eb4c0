# One image for every tickcast service (producer, worker, api) and the MLflow server.
# Build stage: a virtualenv with tickcast (its Rust core compiled by maturin, with the Rust
# toolchain of the official image and a C linker) and its server extras; runtime: that venv,
# non-root, no compiler.
FROM python:3.11-slim AS build
COPY --from=rust:1-slim /usr/local/cargo /usr/local/cargo
COPY --from=rust:1-slim /usr/local/rustup /usr/local/rustup
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:/usr/local/cargo/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY build_backend ./build_backend
COPY rust ./rust
COPY tickcast ./tickcast
RUN pip install ".[server]"

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 tickcast \
    && install -d -o tickcast -g tickcast /home/tickcast/faust /home/tickcast/auth
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 TICKCAST_API_HOST=0.0.0.0
WORKDIR /home/tickcast
USER tickcast
EXPOSE 8000 9108 9109
ENTRYPOINT ["tickcast"]
CMD ["--help"]
