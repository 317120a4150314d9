"""newswatch: watch news feeds for the events your YAML rules describe and alert on Kafka."""

__version__ = "0.1.0"
