# The desk: one image for `desk serve` and `desk worker`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY desk ./desk
COPY adapters ./adapters
RUN python -m venv /opt/desk && /opt/desk/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 desk
COPY --from=build /opt/desk /opt/desk
WORKDIR /app
# Templates and static files are read from the project root at run time.
COPY templates ./templates
COPY static ./static
COPY desk ./desk
COPY adapters ./adapters
ENV PATH=/opt/desk/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 DESK_DATA_DIR=/app/data
RUN mkdir -p /app/data && chown desk:desk /app/data
USER desk
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/').status == 200 else 1)"
CMD ["desk", "serve", "--host", "0.0.0.0", "--port", "8000"]
