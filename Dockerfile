# One image for the poller and the worker (`newswatch poll` / `newswatch worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, pinned by the lock file, so code edits do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md ./
COPY newswatch newswatch
COPY poller poller
COPY matcher matcher
COPY streams streams
COPY agents agents
COPY alerts alerts
COPY config config
RUN pip install --no-cache-dir --no-deps . && useradd --system --home /app newswatch \
    && mkdir -p /app/.cache && chown newswatch /app/.cache
USER newswatch

ENV NEWSWATCH_FEEDS_FILE=/app/config/feeds.yaml \
    NEWSWATCH_RULES_PATH=/app/config/rules \
    NEWSWATCH_DATA_DIR=/app/.cache/faust
ENTRYPOINT ["newswatch"]
CMD ["--help"]
