# TorchReady's server image: the web app (gunicorn), the server-side Celery
# worker and beat, and the one-off migrate step all run from it (docker-compose.yml).
FROM python:3.11-slim-bookworm

# The root filesystem can be read-only (docker-compose.yml runs it so): the app
# writes only to /app/var (a volume) and /tmp (a tmpfs).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TORCHREADY_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    PYTHONPATH=/app

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin torchready

# Dependencies first, so a code change does not reinstall them; every version is
# pinned by the lock (bin/lock regenerates it from pyproject.toml). An empty README
# stands in for the real one (the package's long description), so editing the
# README does not reinstall them either.
COPY pyproject.toml ./
COPY requirements/server.txt requirements/
COPY config/__init__.py config/
COPY learning/__init__.py learning/
COPY diagnostics/__init__.py diagnostics/
RUN touch README.md && pip install -c requirements/server.txt ".[server]" \
    && pip uninstall -y torchready && rm -rf README.md build *.egg-info

COPY manage.py ./
COPY config config
COPY learning learning
COPY diagnostics diagnostics
COPY templates templates
COPY static static
COPY content content
COPY deploy deploy

# Static files are collected into the image (hashed names, gzip copies); whitenoise
# serves them compressed, cached for a year. The key here only lets settings load
# for collectstatic; it is never used. Only var/ belongs to the app's user: the
# code, templates and static files are root's and read-only to it.
RUN SECRET_KEY=collectstatic-only TORCHREADY_VAR_DIR=/tmp/build-var \
        python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && python -m compileall -q config learning diagnostics \
    && mkdir -p var && chown torchready:torchready var

USER torchready
EXPOSE 8000
# Serves requests through gunicorn; docker-compose.yml runs the other services
# from this image with their own commands.
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi"]
