# syntax=docker/dockerfile:1
# The desk: one image for `desk serve`, `desk worker` and `desk migrate` (see compose.yaml).

# 1. Build the desk's wheel and every dependency's, so the final stage needs no compiler
#    and no network.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY desk ./desk
COPY adapters ./adapters
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# 2. Install the wheels in a virtualenv; run as an unprivileged user.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/desk/bin:$PATH \
    DESK_ASSETS_DIR=/opt/desk/share \
    DESK_DATA_DIR=/var/lib/desk \
    DESK_LOG_FORMAT=json
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/desk \
    && /opt/desk/bin/pip install --no-cache-dir --no-index --find-links /wheels desk \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/desk --create-home desk
# Pages and the stylesheet are read from DESK_ASSETS_DIR at run time.
COPY templates /opt/desk/share/templates
COPY static /opt/desk/share/static
USER desk
WORKDIR /var/lib/desk
# The receipt signing keys (receipt-keys.json) and, without DESK_SECRET_KEY, secret.key:
# share this volume between every web and worker container, and back it up.
VOLUME ["/var/lib/desk"]
EXPOSE 8000
# slim has no curl: the image's own Python asks /healthz (no database touch).
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["desk", "serve", "--host", "0.0.0.0", "--port", "8000"]
