# ioam-exporter image. Build from the repository root:
#   docker build -f docker/exporter.Dockerfile -t ioam-exporter .
# The exporter joins the kernel's IOAM6 generic netlink group of the network namespace it runs
# in: it needs the node's namespace and CAP_NET_ADMIN, so run it with
#   docker run --network host --cap-add NET_ADMIN ioam-exporter \
#     --collector udp://192.0.2.10:4739 --metrics-listen 127.0.0.1:9556

FROM debian:12 AS build
# scripts/install-deps.sh is the one package list; --build-only skips the test tools.
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DIOAM_BUILD_TESTS=OFF -DIOAM_BUILD_BENCH=OFF \
    && cmake --build /build --target ioam-exporter \
    && strip /build/exporter/ioam-exporter

FROM debian:12 AS runtime
# Shared libraries of the binary only (tests/deploy checks them against its ldd output).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libfixbuf9 libglib2.0-0 libnl-3-200 libnl-genl-3-200 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/exporter/ioam-exporter /usr/local/bin/ioam-exporter
# Stays root: CAP_NET_ADMIN comes from --cap-add NET_ADMIN, and Docker's default capability set
# is all the exporter keeps. A non-root user would need file capabilities on the binary.
ENTRYPOINT ["/usr/local/bin/ioam-exporter"]
CMD ["--collector", "udp://127.0.0.1:4739", "--metrics-listen", "127.0.0.1:9556"]
