"""Reports: figures rendered for people (terminal tables, HTML) and for scripts (JSON, CSV)."""
