#!/usr/bin/env bash
# Builds stand-ins for the public base images that container/Dockerfile and
# container/docker-compose.yml name, from Debian 12's packages, and tags each
# with the upstream name, so that both files run unchanged with podman on a
# machine that reaches Debian's mirror but no container registry. GitHub's
# runner uses the real images; these only have to behave alike for what the
# project uses of them.
#
#   bash container/testing/stand-in-images.sh [NAME...]
#
# NAME: debian rust distroless postgres prometheus nginx (default: all). An image
# already in podman's storage is kept (REBUILD=1 rebuilds), so a second run
# costs a second. Needs root, podman and mmdebstrap (.ci/packages-containers).
# mmdebstrap's hooks get the root directory as $1: single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=container/testing/podman-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"

RUST_VERSION=${RUST_VERSION:-1.95.0}
# The apt sources of this machine: the mirror it reaches, maybe through a proxy.
SOURCES=
for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  if [ -s "$file" ]; then SOURCES=$file && break; fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf 'stand-in-images: %s\n' "$*" >&2; }

# fresh NAME: true when NAME must be built (absent, or REBUILD=1).
fresh() {
  if [ "${REBUILD:-0}" != 1 ] && podman image exists "$1"; then
    say "$1 present"
    return 1
  fi
  say "building $1"
}

# debootstrap TAR MMDEBSTRAP-ARGS...: a Debian 12 root file system as a tarball.
debootstrap() {
  local tar=$1
  shift
  mmdebstrap --quiet --mode=root --format=tar "$@" bookworm "$tar" "$SOURCES"
}

debian() {
  local name=docker.io/library/debian:bookworm
  fresh "$name" || return 0
  debootstrap "$work/debian.tar" --variant=minbase
  podman import --quiet --change 'CMD ["bash"]' "$work/debian.tar" "$name" >/dev/null
}

# rust:VERSION-bookworm: Debian, the C toolchain the linker needs, and this
# machine's Rust toolchain (rustc --print sysroot) copied in where the
# official image keeps it (CARGO_HOME=/usr/local/cargo, on PATH).
rust() {
  local name=docker.io/library/rust:$RUST_VERSION-bookworm short
  short=docker.io/library/rust:${RUST_VERSION%.*}-bookworm
  fresh "$name" || { podman tag "$name" "$short"; return 0; }
  local sysroot
  sysroot=$(rustc +"$RUST_VERSION" --print sysroot 2>/dev/null || rustc --print sysroot)
  debootstrap "$work/rust.tar" --variant=minbase --include=gcc,libc6-dev,ca-certificates,git \
    --customize-hook="mkdir -p \"\$1/usr/local/cargo/bin\" && cp -a \"$sysroot/.\" \"\$1/usr/local/rust/\"" \
    --customize-hook="for b in \"\$1\"/usr/local/rust/bin/*; do ln -s \"/usr/local/rust/bin/\${b##*/}\" \"\$1/usr/local/cargo/bin/\"; done"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' --change 'CMD ["bash"]' \
    "$work/rust.tar" "$name" >/dev/null
  podman tag "$name" "$short"
}

# gcr.io/distroless/cc-debian12:nonroot: glibc, libgcc, libstdc++, OpenSSL,
# CA certificates, time zones; no shell, no package manager; user 65532.
# (The extract variant runs extract hooks, not customize hooks.)
distroless() {
  local name=gcr.io/distroless/cc-debian12:nonroot
  fresh "$name" || return 0
  debootstrap "$work/distroless.tar" --variant=extract \
    --include=base-files,netbase,tzdata,libc6,libgcc-s1,libstdc++6,libgomp1,libssl3,ca-certificates \
    --extract-hook='printf "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" >"$1/etc/passwd"' \
    --extract-hook='printf "root:x:0:\nnonroot:x:65532:\n" >"$1/etc/group"' \
    --extract-hook='mkdir -p "$1/home/nonroot" "$1/tmp" && chown 65532:65532 "$1/home/nonroot" && chmod 1777 "$1/tmp"' \
    --extract-hook='rm -rf "$1/bin/sh" "$1/usr/bin/sh" "$1/bin/dash" "$1/usr/bin/dash" "$1/var/lib/dpkg" "$1/usr/share/doc"'
  podman import --quiet --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
    "$work/distroless.tar" "$name" >/dev/null
}

# postgres:15.20-bookworm: Debian's postgresql-15 and an entrypoint that
# honours what the Compose file uses of the official one (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, /docker-entrypoint-initdb.d on an empty
# data directory, PGDATA=/var/lib/postgresql/data).
postgres() {
  local name=docker.io/library/postgres:15.20-bookworm
  fresh "$name" || return 0
  debootstrap "$work/postgres.tar" --variant=minbase --include=postgresql-15 \
    --customize-hook="install -m 0755 \"$TESTING_DIR/postgres-entrypoint.sh\" \"\$1/usr/local/bin/docker-entrypoint.sh\""
  podman import --quiet \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PGDATA=/var/lib/postgresql/data' --change 'STOPSIGNAL SIGINT' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["postgres"]' --change 'EXPOSE 5432' \
    "$work/postgres.tar" "$name" >/dev/null
}

# prom/prometheus:v2.53.2: Debian's Prometheus (2.42), run as the official
# image runs it, with wget for the Compose file's health check. (/bin is
# /usr/bin in Debian 12: /bin/prometheus is there already.)
prometheus() {
  local name=docker.io/prom/prometheus:v2.53.2
  fresh "$name" || return 0
  debootstrap "$work/prometheus.tar" --variant=minbase --include=prometheus,wget \
    --customize-hook='mkdir -p "$1/prometheus" && chown 65534:65534 "$1/prometheus"'
  podman import --quiet --change 'USER 65534:65534' --change 'WORKDIR /prometheus' \
    --change 'ENTRYPOINT ["/usr/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
    --change 'EXPOSE 9090' "$work/prometheus.tar" "$name" >/dev/null
}

# nginx:1.26.2-bookworm: Debian's nginx (1.22, the proxy module included),
# run as the official image runs it (master as root, `daemon off`, SIGQUIT
# for a graceful stop), with /bin/sh for the Compose file's command.
nginx() {
  local name=docker.io/library/nginx:1.26.2-bookworm
  fresh "$name" || return 0
  debootstrap "$work/nginx.tar" --variant=minbase --include=nginx-light \
    --customize-hook='rm -f "$1"/etc/nginx/sites-enabled/*'
  podman import --quiet --change 'STOPSIGNAL SIGQUIT' --change 'EXPOSE 80' \
    --change 'CMD ["nginx", "-g", "daemon off;"]' "$work/nginx.tar" "$name" >/dev/null
}

[ "$#" -gt 0 ] || set -- debian rust distroless postgres prometheus nginx
for image in "$@"; do
  case $image in
    debian | rust | distroless | postgres | prometheus | nginx) "$image" ;;
    *) say "unknown image $image (debian rust distroless postgres prometheus nginx)"; exit 2 ;;
  esac
done
