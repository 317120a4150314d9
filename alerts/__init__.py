"""Alerts: the document every subscriber reads, and the tools to read them (``newswatch alerts tail``)."""
