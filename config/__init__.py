"""What newswatch ships besides code: the default rule pack, the feeds file and its sample feeds, the alert
schema, Prometheus and Grafana files. Package data, found with importlib.resources (``newswatch.core.settings``)."""
