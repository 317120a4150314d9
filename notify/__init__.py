"""``newswatch notify``: alerts from the alert topics to the sinks ``config/notify.yaml`` routes them to
(Prometheus Alertmanager, signed webhooks). A consumer of the alert contract (config/schemas/alert.v1.json),
nothing of the worker's internals."""
