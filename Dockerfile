# Multi-stage build: compile with the Rust toolchain, run on a slim Debian as
# a non-root user. Templates, styles and migrations are compiled in.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
COPY catalogues catalogues
COPY build.rs build.rs
RUN cargo build --release --locked --bin mandate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/mandate --uid 10001 mandate
COPY --from=build /src/target/release/mandate /usr/local/bin/mandate
USER mandate
WORKDIR /var/lib/mandate
ENV MANDATE_BIND=0.0.0.0:8080 \
    MANDATE_DATA_DIR=/var/lib/mandate/data
EXPOSE 8080
ENTRYPOINT ["mandate"]
CMD ["serve"]
