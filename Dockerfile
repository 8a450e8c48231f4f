# Downhill: the playground as a container a lecturer can run anywhere.
#   docker build -t downhill .
#   docker run -p 5006:5006 -e DOWNHILL_ALLOW_WEBSOCKET_ORIGIN=192.168.1.20:5006 downhill
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin downhill
WORKDIR /srv/downhill

# Only what the app needs: the package metadata and the four packages (see .dockerignore).
COPY pyproject.toml README.md ./
COPY app ./app
COPY landscapes ./landscapes
COPY optimizers ./optimizers
COPY circuits ./circuits
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER 10001

# Browsers may open the websocket only from these host[:port] origins (comma-separated).
# Set it to the address students type, e.g. 192.168.1.20:5006 (never "*" on a shared network).
ENV DOWNHILL_ALLOW_WEBSOCKET_ORIGIN=localhost:5006,127.0.0.1:5006
# glibc gives every thread its own malloc arena; sessions come and go on several threads and
# freed memory stays fragmented across them (RSS grew ~14 MB per 40 sessions, Python objects
# flat). `downhill` limits itself to 2 arenas at start-up (app/cli.py, mallopt); the variable
# does the same for every process in the image, and `downhill` then leaves it to glibc.
ENV MALLOC_ARENA_MAX=2

EXPOSE 5006
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5006/liveness', timeout=4)"]
CMD ["downhill", "--address", "0.0.0.0", "--port", "5006", "--no-browser"]
