"""The Faust app and its topic declarations; the agents that use them live in ``agents/``."""
