# hookflow: one static binary for the receivers (serve), the worker and the CLI.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#                --build-arg COMMIT=$(git rev-parse --short HEAD) -t hookflow .
#
# The build flags are make build's (-ldflags -X main.version, -X main.commit),
# plus CGO_ENABLED=0 for a static binary and -trimpath for a reproducible one.

FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/hookflow ./cmd/hookflow

# Static, no shell, runs as nonroot (uid 65532).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hookflow /usr/local/bin/hookflow
USER nonroot:nonroot
EXPOSE 8080
# /healthz of the ops listener (HOOKFLOW_METRICS_ADDR) of serve and worker;
# one-shot commands (setup) should disable it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/hookflow", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hookflow"]
CMD ["serve"]
