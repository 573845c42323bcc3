#!/usr/bin/env bash
# Fetches Debian's linux-image-cloud-amd64 kernel and busybox-static with apt-get download into
# tests/.artifacts/linux-guest, extracts vmlinuz (and its ELF vmlinux, decompressed by our bzImage
# loader) and the modules, and builds the busybox initramfs: the steps the tests take
# (tests/support/linux-guest.ts), run through the fetch test so notebooks can use the files.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vitest run tests/linux/fetch.test.ts
