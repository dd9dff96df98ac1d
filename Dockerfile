# syntax=docker/dockerfile:1
# One image with the four aigw services (and aigw-token); the first argument
# picks the program:
#
#   docker build -t aigw:0.1.0 .
#   docker run --rm aigw:0.1.0 gateway --help
#   docker run --rm aigw:0.1.0 migrate          # aigw-admin --migrate_only
#
# Both stages are Debian 12. The build stage installs exactly the packages a
# developer machine gets (scripts/setup is the one list); the runtime stage
# installs only the shared libraries the binaries link, at the versions the
# build stage linked them against (deploy/docker/runtime-packages.sh).

ARG DEBIAN_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# The package list is scripts/setup's, so the image and a developer machine
# build with the same compiler and libraries.
COPY scripts/setup /src/scripts/setup
RUN /src/scripts/setup && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . /src
# The tokenizer rank files come from a pinned npm tarball (checked against
# OpenAI's published SHA-256); a .cache/tokenizer/ in the build context is
# used instead of the registry. ccache survives between builds with BuildKit.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release \
          -DAIGW_BUILD_TESTS=OFF -DAIGW_BUILD_BENCHMARKS=OFF \
 && cmake --build /build -j"$(nproc)" \
          --target aigw-gateway aigw-keypool aigw-usage aigw-admin aigw-token aigw_tokenizer_data \
 && mkdir -p /out/bin /out/tokenizer-data \
 && install -m 0755 -s \
          /build/services/gateway/aigw-gateway /build/services/keypool/aigw-keypool \
          /build/services/usage/aigw-usage /build/services/admin/aigw-admin \
          /build/tools/aigw-token/aigw-token /out/bin/ \
 && cp /build/tokenizer-data/o200k_base.tiktoken /build/tokenizer-data/cl100k_base.tiktoken \
          /out/tokenizer-data/ \
 && deploy/docker/runtime-packages.sh /out/bin/* > /out/runtime-packages.txt

FROM ${DEBIAN_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
# ca-certificates: the gateway and admin call the providers over HTTPS.
RUN apt-get update -qq \
 && xargs -a /tmp/runtime-packages.txt \
      apt-get install -y -qq --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 aigw \
 && useradd --system --uid 10001 --gid aigw --home-dir /var/lib/aigw --no-create-home \
      --shell /usr/sbin/nologin aigw \
 && install -d -o aigw -g aigw -m 0750 /var/lib/aigw /var/lib/aigw/spool
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/tokenizer-data/ /usr/share/aigw/tokenizer-data/
COPY deploy/docker/entrypoint.sh /usr/local/bin/aigw
# The services write only the gateway's call-event spool (a volume in
# Kubernetes); everything else can be a read-only root filesystem.
ENV AIGW_TOKENIZER_DATA_DIR=/usr/share/aigw/tokenizer-data \
    AIGW_SPOOL_DIR=/var/lib/aigw/spool
WORKDIR /var/lib/aigw
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# gRPC and /metrics of gateway, keypool, usage, admin.
EXPOSE 50051 50052 50053 50054 9101 9102 9103 9104
ENTRYPOINT ["/usr/local/bin/aigw"]
CMD ["--help"]
