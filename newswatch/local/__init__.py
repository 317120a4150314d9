"""A real Kafka broker and Prometheus on this machine, for `newswatch run`, `newswatch kafka` and the tests."""
