"""The domain: every operation that reads or changes state, written once.

Dashboard views, API routes, compat facades, CLI commands and RQ jobs all call these
functions; none of them imports the request or the session, so they run inside workers too.
"""
