"""Fault tests (issue 10): what happens to a user's work when a part of the system fails.

Each fault, and where it is tested:
- Redis killed during saves: test_redis_down.py
- a worker killed mid-job: test_worker_killed.py
- SMTP refusing: test_smtp_refusing.py (and tests/events/test_jobs_and_mail.py)
- the database busy/locked on SQLite: test_sqlite_busy.py
- PostgreSQL restarted during load (PostgreSQL run only): test_postgres_restart.py
- two users saving one case (conflict, nothing overwritten):
  tests/cases/test_case_screen.py::test_two_handlers_saving_one_case_conflict
- a browser double-submit (one record): test_double_submit.py
"""
