# One image for the poller, the worker and the console (`newswatch poll` / `newswatch worker` / `newswatch console`).

# The matcher's native core (matcher/native, Rust + PyO3) is compiled into a wheel in a build stage on the same
# base image (same glibc, so the wheel's platform tag fits); only the wheel reaches the final image.
FROM python:3.11-slim AS native
COPY --from=rust:1.95-slim /usr/local/cargo /usr/local/cargo
COPY --from=rust:1.95-slim /usr/local/rustup /usr/local/rustup
ENV CARGO_HOME=/usr/local/cargo RUSTUP_HOME=/usr/local/rustup PATH=/usr/local/cargo/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements-dev.lock ./
RUN pip install --no-cache-dir "$(grep '^maturin==' requirements-dev.lock)"
COPY matcher/native matcher/native
RUN maturin build --release --manifest-path matcher/native/Cargo.toml --out /wheels

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, pinned by the lock file, so code edits do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY --from=native /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels

# One package, newswatch: setuptools maps the card's folders into it and ships config/ as package data, so the
# installed command finds its default rules and feeds without any path setting. The sources are only built from.
COPY pyproject.toml README.md /src/
COPY newswatch /src/newswatch
COPY poller /src/poller
COPY matcher /src/matcher
COPY streams /src/streams
COPY agents /src/agents
COPY alerts /src/alerts
COPY fulltext /src/fulltext
COPY console /src/console
COPY notify /src/notify
COPY config /src/config
RUN pip install --no-cache-dir --no-deps /src && rm -rf /src && useradd --system --home /app newswatch \
    && mkdir -p /app/.cache && chown newswatch /app/.cache
USER newswatch

ENTRYPOINT ["newswatch"]
CMD ["--help"]
