# ioam-collector image. Build from the repository root:
#   docker build -f docker/collector.Dockerfile -t ioam-collector .
# Run: docker run -p 4739:4739/udp -p 4739:4739/tcp -p 127.0.0.1:9555:9555 \
#        -v ioam-data:/var/lib/ioam-collector ioam-collector

FROM debian:12 AS build
# scripts/install-deps.sh is the one package list; --build-only skips the test tools.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DIOAM_BUILD_TESTS=OFF -DIOAM_BUILD_BENCH=OFF \
    && cmake --build /build --target ioam-collector \
    && strip /build/collector/ioam-collector

FROM debian:12 AS runtime
# Shared libraries of the binary only (tests/deploy checks them against its ldd output).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-0 libzstd1 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 libssl3 zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/ioam-collector --shell /usr/sbin/nologin ioam \
    && install -d -o ioam -g ioam /var/lib/ioam-collector
COPY --from=build /build/collector/ioam-collector /usr/local/bin/ioam-collector
USER ioam
WORKDIR /var/lib/ioam-collector
VOLUME ["/var/lib/ioam-collector"]
# IPFIX over UDP and TCP; HTTP (/metrics, /api/v1, /healthz, /readyz).
EXPOSE 4739/udp 4739/tcp 9555/tcp
# Flags given to `docker run IMAGE ...` replace CMD: every one can be overridden. The database
# is ./ioam.db by default, in the working directory, the volume. Inside the container HTTP
# listens on every address; publish it on the host's loopback.
ENTRYPOINT ["/usr/local/bin/ioam-collector"]
CMD ["--http-listen", "0.0.0.0:9555"]
