"""The bottom layer: deployment settings, YAML loading with line numbers, Kafka client construction, console output."""
