# TorchReady's server image: the web app (gunicorn), the server-side Celery
# worker and beat, and the one-off migrate step all run from it (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TORCHREADY_VAR_DIR=/app/var \
    PYTHONPATH=/app

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin torchready

# Dependencies first, so a code change does not reinstall them; every version is
# pinned by the lock (bin/lock regenerates it from pyproject.toml).
COPY pyproject.toml README.md ./
COPY requirements/server.txt requirements/
COPY config/__init__.py config/
COPY learning/__init__.py learning/
COPY diagnostics/__init__.py diagnostics/
RUN pip install -c requirements/server.txt ".[server]" && pip uninstall -y torchready

COPY manage.py ./
COPY config config
COPY learning learning
COPY diagnostics diagnostics
COPY templates templates
COPY static static
COPY content content
COPY deploy deploy

# Static files are collected into the image; whitenoise serves them compressed.
# The key here only lets settings load for collectstatic; it is never used.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && python -m compileall -q config learning diagnostics \
    && mkdir -p var && chown -R torchready:torchready var

USER torchready
EXPOSE 8000
# Serves requests through gunicorn; docker-compose.yml runs the other services
# from this image with their own commands.
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi"]
