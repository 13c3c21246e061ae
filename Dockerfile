# Clavis in a container: a static binary (CGO off, so no PKCS#11/HSM root key; see the README) on
# distroless, running as the non-root user 65532, with its data (SQLite database and root key) in /data.
#   docker build --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse HEAD) -t clavis .
#   docker run -v clavis-data:/data -v /etc/clavis/tls:/tls:ro -p 8443:8443 \
#     -e CLAVIS_TLS_CERT=/tls/tls.crt -e CLAVIS_TLS_KEY=/tls/tls.key \
#     -e CLAVIS_PUBLIC_URL=https://vault.example.com clavis
# Without a certificate, set CLAVIS_INSECURE_HTTP=yes only behind a TLS-terminating proxy.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/clavis ./cmd/clavis && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/clavis /usr/local/bin/clavis
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
ENV CLAVIS_DATA_DIR=/data CLAVIS_LISTEN=0.0.0.0:8443
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/clavis"]
CMD ["server"]
