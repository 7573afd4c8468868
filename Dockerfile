# The monitor as a container: a slim Python, a non-root user, state in the data/ volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY alerts ./alerts
RUN pip install . && useradd --create-home --uid 1000 monitor && mkdir -p /app/data && chown monitor /app/data
COPY sources.toml ./sources.toml

USER monitor
VOLUME ["/app/data"]
# The review desk, when sources.toml has [web] listen = "0.0.0.0:8080" (publish it on the host's
# loopback and put a TLS reverse proxy in front: see the README).
EXPOSE 8080
ENV MONITOR_CONFIG=/app/sources.toml MONITOR_LOG_LEVEL=info
# Unhealthy when the database cannot be opened or the daemon's heartbeat is over five minutes old.
HEALTHCHECK --interval=1m --timeout=15s --start-period=1m --retries=3 CMD ["school-monitor", "status", "--quiet"]
# Exec form: the monitor is PID 1 and receives docker stop's SIGTERM itself (it exits within seconds).
CMD ["school-monitor", "run"]
