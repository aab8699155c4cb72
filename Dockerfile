# syntax=docker/dockerfile:1
# novawh: build a static binary, run it on a small non-root image.
# (Not built in the project's CI: the machine has no Docker engine.)

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w" -o /out/novawh ./cmd/novawh

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
# The binary embeds the migrations, the schema registry, novawh.yaml and
# the time zone database; the samples are for `novawh run --inputs-dir`.
COPY --from=build /out/novawh /usr/local/bin/novawh
COPY --from=build /src/novawh.yaml /app/novawh.yaml
COPY --from=build --chown=nonroot:nonroot /src/data/raw/samples /app/data/raw/samples
USER nonroot:nonroot
ENV NOVAWH_LOG_FILE=""
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/novawh"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
