# The Space image: CPU, a non-root user, port 7860. The sandbox is bubblewrap where the host allows
# namespaces, else (a HuggingFace Space: uid 1000, default seccomp) Landlock + seccomp, chosen at startup.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap util-linux build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

# torch first and pinned: a bare `torch` resolved with the rest would pull CUDA wheels.
COPY requirements.txt .
# llama-cpp-python compiles llama.cpp; a portable build runs on any CPU of the Space's kind.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF"
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir -r requirements.txt

COPY --chown=user . .
USER user
ENV GRADIO_ANALYTICS_ENABLED=False \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    PYTHONUNBUFFERED=1
EXPOSE 7860
CMD ["python", "app.py"]
