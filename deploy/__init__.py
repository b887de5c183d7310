"""Zero-downtime deploys with gunicorn's USR2: the hooks gunicorn.conf.py wires in (hooks.py),
the process checks they rely on (processes.py), systemd's notify protocol (systemd.py) and
`python manage.py deploy` (command.py).

Standard library only: gunicorn's master imports this package, and must never import the app
(a release whose app cannot import must still leave the old master serving).
"""
