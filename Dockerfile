FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    GRADER_DATA_DIR=/var/lib/grader

WORKDIR /app
COPY pyproject.toml README.md ./
COPY grader ./grader
COPY workers ./workers
COPY service ./service
COPY rubrics ./rubrics
# The CPU build of torch; the default index would pull a multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir .

RUN useradd --system --home /var/lib/grader grader && mkdir -p /var/lib/grader \
 && chown grader /var/lib/grader
USER grader
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", \
     "--threads", "8", "service.wsgi:app"]
