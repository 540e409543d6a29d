# One image for every einvoice process: the API (`einvoice serve`), the workers (`einvoice worker`)
# and the one-shot jobs (`einvoice rules install`, `einvoice db upgrade`). Configured only through
# EINVOICE_* environment variables (see einvoice/config.py and docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 einvoice \
    && mkdir -p /var/lib/einvoice \
    && chown einvoice:einvoice /var/lib/einvoice

WORKDIR /app
COPY pyproject.toml README.md ./
COPY einvoice ./einvoice
COPY xrechnung_rules ./xrechnung_rules
COPY samples ./samples
# Editable, so the rule configuration (xrechnung_rules/) and samples/ stay beside the package.
RUN pip install -e .

USER einvoice
EXPOSE 8000
CMD ["einvoice", "serve", "--host", "0.0.0.0", "--port", "8000"]
