# authd: the token server. Built from the workspace root:
#   docker build -t authd .        (or `docker compose up`)
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p auth-server --bin authd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/authd --create-home authd
COPY --from=build /src/target/release/authd /usr/local/bin/authd
USER authd
# Key, users file and (with SQLite) the database live here: mount a volume to keep them.
WORKDIR /var/lib/authd
ENV AUTHD_LISTEN=0.0.0.0:13140
EXPOSE 13140
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:13140/healthz || exit 1
ENTRYPOINT ["authd"]
CMD ["serve"]
