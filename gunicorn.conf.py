"""gunicorn settings, read by `make run` (helpline/run.py) and by gunicorn started from here.

The access log records the path without its query string, and no Referer: searches send
names, phone numbers and postcodes in the query string (and a Referer repeats the page's),
and log files are kept and copied far more widely than the database."""
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
