"""The web app exactly as `upcron web` serves it, plus one trivial route for bench/pings.py.

The route's endpoint sits under the ping blueprint's name, so it passes the same request
hooks as a ping (no first-run setup check, no CSRF) and only the ping's own work differs. It
answers with its worker's pid, by which the benchmark spreads its connections over the
workers.
"""

import os

from app import create_app

app = create_app()


def _trivial():
    return str(os.getpid()), 200, {"Content-Type": "text/plain; charset=utf-8"}


app.add_url_rule("/_bench/trivial", endpoint="ping.bench_trivial", view_func=_trivial)
