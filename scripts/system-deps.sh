#!/usr/bin/env bash
# Debian packages the test suite drives for real (Neovim as an LSP client). Idempotent.
set -euo pipefail
missing=()
command -v nvim >/dev/null || missing+=(neovim)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nvim --version | head -1
