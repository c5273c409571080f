"""Integrations with optional libraries; each module is imported only when its library is."""
