#!/usr/bin/env bash
# Installs the Debian packages the tests use as real peers and oracles (DEVELOPERS.md), if any is
# missing. Runs before `npm test`; does nothing (quickly) when they are all there.
set -euo pipefail
PACKAGES=(
  # Jupyter: clients, server, nbclient/nbconvert, ipykernel (the benchmark anchor), console
  jupyter-client python3-jupyter-server python3-nbclient jupyter-nbconvert python3-nbformat
  python3-ipykernel jupyter-console
  # Disks: qemu-img/qemu-io, libvhdi (vhdiinfo, pyvhdi), filesystem and partition tools
  qemu-utils libvhdi-utils python3-libvhdi mtools dosfstools e2fsprogs fdisk gdisk
  # strace: the oracle for cache modes (O_DIRECT opens and fdatasync calls, beside qemu-img's)
  strace
  # CPU and Xen oracles: the assembler, the compiler for native runs, Xen's public headers
  nasm gcc libxen-dev
  # gcc -m32 (32-bit freestanding programs run under 32-bit and PAE paging, tests/machine/programs-32.test.ts)
  gcc-multilib
  # The real guest (issue 14): QEMU TCG is the anchor booting the same Debian kernel via PVH (and
  # runs tests/machine/programs/realmode.asm as its BIOS, the real-mode oracle); the
  # compressors make kernel payloads for the loader tests (the kernel and busybox come by apt-get download)
  qemu-system-x86 lz4 zstd bzip2 xz-utils
  # tmux: the terminal emulator whose cursor reports the console display's terminal is checked against
  tmux
  # QEMU user-mode TCG: the anchor the workloads bench runs the same static ELFs under
  qemu-user
  # ACPICA's iasl disassembles the ACPI tables the domain builder writes (the oracle for them)
  acpica-tools
  # Views checked in a real browser: the classic notebook and Chromium (driven by playwright-core)
  jupyter-notebook chromium
  # The classroom test (tests/jupyter/jupyterhub.test.ts): the hub with configurable-http-proxy
  jupyterhub
  # python3 -m venv for the JupyterLab venv below
  python3-venv
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# JupyterLab (the views are checked in its renderers too, tests/render/jupyterlab.test.ts) is not
# packaged by Debian 12, so its PyPI release goes into a venv of its own. Without network it is
# left out with a warning and that one test is skipped, saying why. Few retries and a short timeout:
# where PyPI is unreachable but pip.conf names local indexes, each index page that only PyPI would
# serve otherwise costs pip's default 5 retries x PIP_DEFAULT_TIMEOUT, and the install ran into
# the 900 s limit (2026-12-04); with these it installs from the local indexes in ~14 s.
JUPYTERLAB_VENV=/opt/xenlab-jupyterlab
JUPYTERLAB_VERSION=4.6.4
install_jupyterlab() {
  [ -x "$JUPYTERLAB_VENV/bin/jupyter-lab" ] && return 0
  [ "$(id -u)" -eq 0 ] || { echo "JupyterLab test skipped: run as root to install it into $JUPYTERLAB_VENV" >&2; return 0; }
  echo "installing JupyterLab $JUPYTERLAB_VERSION into $JUPYTERLAB_VENV" >&2
  /usr/bin/python3 -m venv "$JUPYTERLAB_VENV" &&
    timeout 900 "$JUPYTERLAB_VENV/bin/pip" install -q --disable-pip-version-check --retries 1 --timeout 15 "jupyterlab==$JUPYTERLAB_VERSION" ||
    { echo "warning: could not install JupyterLab from PyPI; tests/render/jupyterlab.test.ts will be skipped" >&2; rm -rf "$JUPYTERLAB_VENV"; }
}
if [ "${#missing[@]}" -eq 0 ]; then install_jupyterlab; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing test peers: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_jupyterlab
