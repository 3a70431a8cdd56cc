"""The web app exactly as `upcron web` serves it, plus one trivial route for bench/pings.py.

The route's endpoint sits under the ping blueprint's name, so it passes the same request
hooks as a ping (no first-run setup check, no CSRF) and only the ping's own work differs.
"""

from app import create_app

app = create_app()


def _trivial():
    return "OK", 200, {"Content-Type": "text/plain; charset=utf-8"}


app.add_url_rule("/_bench/trivial", endpoint="ping.bench_trivial", view_func=_trivial)
