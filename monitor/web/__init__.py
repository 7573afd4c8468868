"""The review desk: the monitor's web front end for the people who act on its work.

Server-rendered pages (Flask over Jinja2, templates/), one stylesheet and no script (static/),
served by waitress (server.py). Every view is a few lines over the Monitor, the same service the
command line calls; every step lands in the review log under the signed-in user's name.

Rules (enforced in auth.py and app.py, for every route):
- a request without a live session gets the sign-in page (GET) or 401, and no data;
- every POST carries the session's CSRF token (the sign-in form: a double-submit cookie);
- roles are checked on the server by a decorator on each view: viewer reads, reviewer acts,
  admin also manages accounts;
- a Content-Security-Policy without inline script, no framing, no MIME sniffing, no Referer;
  evidence is only ever downloaded as an attachment.

Flask and waitress are imported only inside this package, and this package only by the commands
that serve it (`serve`, and `run` with [web] listen).
"""

from monitor.web.app import create_app, set_service

__all__ = ["create_app", "set_service"]
