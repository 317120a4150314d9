"""The analyst's console: a live list of alerts in the browser, their evidence, and triage that feeds rule quality.

A consumer of the alert topics like ``newswatch alerts tail``: it reads the alert contract
(config/schemas/alert.v1.json) and nothing of the worker. docs/console.md describes it.
"""
