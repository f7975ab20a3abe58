# One-shot container that checks the machine it runs on (Debian slim + Node 20 + vtd-check from
# this repository's npm tarball). Build and run (see README "Container"):
#   docker build -t vtd-check .
#   docker run --rm -v /sys:/host/sys:ro -v /proc:/host/proc:ro --device /dev/kmsg --cap-add SYSLOG vtd-check
# Arguments replace the default `check`: `... vtd-check groups --format mermaid`.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build && npm pack --pack-destination /tmp && mv /tmp/vtd-check-*.tgz /tmp/vtd-check.tgz

FROM node:20-bookworm-slim
# pciutils: pci.ids names. The kernel log: dmesg (util-linux, in the base image) reads /dev/kmsg;
# journalctl (systemd) reads a mounted host journal instead.
RUN apt-get update && apt-get install -y --no-install-recommends pciutils systemd && rm -rf /var/lib/apt/lists/*
COPY --from=build /tmp/vtd-check.tgz /tmp/vtd-check.tgz
RUN npm install --global --omit=dev --no-audit --no-fund --loglevel=error /tmp/vtd-check.tgz && rm /tmp/vtd-check.tgz
COPY packaging/container-check.sh /usr/local/bin/vtd-check-host
ENV VTD_CHECK_HOST=/host
ENTRYPOINT ["/usr/local/bin/vtd-check-host"]
CMD ["check"]
