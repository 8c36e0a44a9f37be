# hookflow: one static binary for the receivers (serve), the worker and the CLI.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/hookflow ./cmd/hookflow

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hookflow /usr/local/bin/hookflow
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/hookflow"]
CMD ["serve"]
