"""The default email templates, installed as the package data monitor.templates (see pyproject.toml).

A file of the same name in alerts/ beside sources.toml overrides each one.
"""
