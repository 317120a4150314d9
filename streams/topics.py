"""Topic declarations. Values stay raw bytes: the agent decodes them itself, so a malformed message is
skipped and counted instead of raising inside Faust's deserializer."""

from __future__ import annotations

from newswatch.settings import get_settings
from streams.app import app

settings = get_settings()

articles_topic = app.topic(
    settings.articles_topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
alerts_topic = app.topic(
    settings.alerts_topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)
