# Build stage: compile wheels for the project and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY plugins ./plugins
COPY migrations ./migrations
COPY templates ./templates
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: only the wheels, a non-root user, and a health check on /healthz.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HEALTH_HOST=0.0.0.0 HEALTH_PORT=8080 \
    DATABASE_URL=sqlite+aiosqlite:////data/dispatch-bot.db
RUN useradd --create-home --uid 10001 dispatch && mkdir /data && chown dispatch /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER dispatch
WORKDIR /home/dispatch
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEALTH_PORT', '8080'), timeout=2)" || exit 1
ENTRYPOINT ["dispatch-bot"]
CMD ["run", "--migrate"]
