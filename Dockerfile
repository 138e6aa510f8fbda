# syntax=docker/dockerfile:1
# qualys-mock: build with the same command as outside Docker (cargo build --release --locked),
# run as a non-root user on a distroless base (no shell; the binary is its own healthcheck).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src

# 1. Dependencies only. The manifest and lock file with placeholder sources: this layer (all
#    the crates.io dependencies, compiled) is rebuilt only when Cargo.toml or Cargo.lock
#    change, not on every source change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# 2. The crate itself. touch: the copied sources may be older than the placeholder build, and
#    cargo rebuilds by modification time.
COPY src ./src
COPY seed-data ./seed-data
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -m 0755 target/release/qualys-mock /qualys-mock \
    && install -d -m 0755 /certs

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /qualys-mock /usr/local/bin/qualys-mock
# /certs is where the generated CA's PEM goes; owned by the runtime user so a named
# volume mounted there (see docker-compose.yml) is writable.
COPY --from=build --chown=65532:65532 /certs /certs
# 65532 is distroless's "nonroot".
USER 65532:65532
# 0.0.0.0 so the ports can be published; with no QUALYS_MOCK_CONTROL_TOKEN the server warns at
# start that the control API is open to whoever reaches the port. Publish on 127.0.0.1
# (docker run -p 127.0.0.1:8080:8080) or set the token.
# Logs: plain text without colour codes (stderr is not a terminal); set
# QUALYS_MOCK_LOG_FORMAT=json for a log collector.
ENV QUALYS_MOCK_HOST=0.0.0.0 \
    QUALYS_MOCK_PORT=8080 \
    QUALYS_MOCK_HTTPS_PORT=8443 \
    QUALYS_MOCK_TLS_CERT_OUT=/certs/qualys-mock-ca.pem
EXPOSE 8080 8443
# `healthcheck` probes 127.0.0.1 on QUALYS_MOCK_PORT, so a container started with another
# port stays healthy without changing this line.
HEALTHCHECK --interval=5s --timeout=3s --start-period=2s --retries=3 \
    CMD ["/usr/local/bin/qualys-mock", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/qualys-mock"]
CMD ["serve"]
