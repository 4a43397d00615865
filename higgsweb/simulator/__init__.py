"""A local stand-in for the Higgsfield APIs: real HTTP on loopback, real media,
signed webhooks, and failures on demand. Start it with `manage.py simulate`."""
