# syntax=docker/dockerfile:1
# novawh: build a static binary, run it on a small non-root image.
# (Not built in the project's CI: the machine has no Docker engine.)

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is what `novawh version` prints (docker build --build-arg VERSION=1.2.0).
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X github.com/novacorrente/novawh/internal/cli.version=${VERSION}" -o /out/novawh ./cmd/novawh

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="novawh" org.opencontainers.image.version="${VERSION}"
WORKDIR /app
# The binary embeds the migrations, the schema registry, novawh.yaml and
# the time zone database; the samples are for `novawh run --inputs-dir`.
COPY --from=build /out/novawh /usr/local/bin/novawh
COPY --from=build /src/novawh.yaml /app/novawh.yaml
COPY --from=build --chown=nonroot:nonroot /src/data/raw/samples /app/data/raw/samples
USER nonroot:nonroot
ENV NOVAWH_LOG_FILE=""
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/novawh", "health", "--url", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/usr/local/bin/novawh"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
