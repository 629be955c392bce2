# berth's in-cluster image, for those who build with Docker (or podman/buildah):
#
#   docker build -t berth:dev --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) .
#
# Without Docker, bash scripts/image writes the same image as an OCI archive (see
# CONTRIBUTING.md); keep the two in step: the same static binaries at /, the same user,
# working folder, PATH, entrypoint and labels.

# The builder runs on the build machine's platform and cross-compiles for the target one
# (docker buildx build --platform linux/amd64,linux/arm64), which needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux TARGETARCH=amd64 VERSION REVISION
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# An empty VERSION keeps the source's default (internal/version).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    ldflags="-s -w -X berth/internal/version.Commit=${REVISION}"; \
    if [ -n "${VERSION}" ]; then ldflags="$ldflags -X berth/internal/version.Version=${VERSION}"; fi; \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -ldflags "$ldflags" -o /out/ ./cmd/berth ./cmd/berth-runtime

# distroless/static:nonroot has what the static binaries need and nothing else: CA
# certificates, /etc/passwd with nonroot (65532), /home/nonroot and /tmp.
FROM gcr.io/distroless/static:nonroot
ARG VERSION REVISION SOURCE
LABEL org.opencontainers.image.title=berth \
      org.opencontainers.image.version=${VERSION} \
      org.opencontainers.image.revision=${REVISION} \
      org.opencontainers.image.source=${SOURCE}
COPY --from=build /out/berth /out/berth-runtime /
ENV PATH=/usr/local/bin:/usr/bin:/bin:/
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/berth"]
