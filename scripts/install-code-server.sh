#!/usr/bin/env bash
# Installs code-server 4.100.3 (= VS Code 1.100.3, the last code-server release whose engines.node
# is 20) into .vscode-test/code-server, plus the Debian packages it and the UI tests need. VS Code
# itself cannot be downloaded here; the integration and e2e tests run the extension in this
# code-server's Node extension host, driven by Debian's headless Chromium.
#
# usage: scripts/install-code-server.sh [--skip-apt] [DEST]
#   DEST        default: <repo>/.vscode-test/code-server (or $CODE_SERVER_DIR)
#   --skip-apt  do not touch apt (also SKIP_APT=1), e.g. when .ci/run installed the packages already
# Cached: a finished install leaves DEST/.installed-<version>; a second run only checks it.
# Works as root on Debian 12 + Node 20 with only the npm registry and Debian apt reachable.
set -euo pipefail

CS_VERSION=4.100.3
RG_VERSION=v13.0.0-10             # the ripgrep build @vscode/ripgrep 1.15.11 would download
RG_CACHE=vscode-ripgrep-cache-1.15.11
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SKIP_APT=${SKIP_APT:-}
DEST=
for a in "$@"; do
  case $a in
    --skip-apt) SKIP_APT=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "install-code-server: unknown option $a" >&2; exit 2 ;;
    *) DEST=$a ;;
  esac
done
DEST=$(realpath -m "${DEST:-${CODE_SERVER_DIR:-$ROOT/.vscode-test/code-server}}")
BIN=$DEST/node_modules/.bin/code-server
STAMP=$DEST/.installed-$CS_VERSION
log() { echo "[install-code-server] $*"; }
T0=$SECONDS

# Debian packages: libkrb5-dev for code-server's kerberos addon (gssapi/gssapi.h), build tools and
# python3 for node-gyp, ripgrep instead of @vscode/ripgrep's GitHub download, chromium to drive the
# workbench, a font so screenshots show text (VS Code's font stacks fall back to DejaVu), and Mesa's
# EGL/OpenGL ES software driver: the WebGPU training test runs Dawn on it (machines without a GPU),
# and ffmpeg (with ffprobe) for the video tests, which make their clips with it.
APT_PACKAGES=(build-essential python3 pkg-config libkrb5-dev ripgrep chromium fonts-dejavu-core libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri ffmpeg)
retry() { local i; for i in 1 2 3; do "$@" && return 0; log "retrying in $((i * 5)) s: $*"; sleep $((i * 5)); done; "$@"; }
if [ -z "$SKIP_APT" ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    retry $SUDO apt-get update -qq
    retry $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "apt packages present"
  fi
fi

if [ -f "$STAMP" ] && [ -x "$BIN" ]; then
  log "code-server $CS_VERSION already installed in $DEST (remove $STAMP to reinstall)"
  exit 0
fi
for tool in node npm rg; do command -v $tool >/dev/null || { echo "install-code-server: $tool not found" >&2; exit 1; }; done
case $(node -v) in v20.*) ;; *) log "warning: code-server $CS_VERSION wants Node 20, this is $(node -v)";; esac

log "installing code-server $CS_VERSION into $DEST"
rm -rf "$DEST"
mkdir -p "$DEST"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/install-code-server-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# @vscode/ripgrep's postinstall looks in $TMPDIR/<cache>/ before asking api.github.com: seed it
# with Debian's rg.
mkdir -p "$WORK/$RG_CACHE"
tar czf "$WORK/$RG_CACHE/ripgrep-$RG_VERSION-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
printf '{ "name": "code-server-host", "private": true, "dependencies": { "code-server": "%s" } }\n' "$CS_VERSION" > "$DEST/package.json"
# - a LOCAL install: with -g the nested `npm install` in lib/vscode inherits global mode and
#   installs lib/vscode (also named code-server) over its own parent.
# - unsafe-perm: code-server's postinstall refuses to run as root without it (npm 11 warns
#   "Unknown cli config", harmless).
# - npm_config_yes: node-pty's postinstall runs `npx node-gyp`, which npm 11 cancels without it.
# - XDG_*: keep npx/node-gyp/code-server from writing into $HOME.
(
  cd "$DEST"
  TMPDIR=$WORK XDG_CONFIG_HOME=$WORK/xdg-config XDG_DATA_HOME=$WORK/xdg-data XDG_CACHE_HOME=$WORK/xdg-cache \
  npm_config_yes=true npm_config_unsafe_perm=true \
    npm install --no-audit --no-fund --no-update-notifier --loglevel=error
)
test -x "$DEST/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" \
  || { echo "install-code-server: @vscode/ripgrep has no rg binary" >&2; exit 1; }
printf 'auth: none\n' > "$WORK/version-check.yaml"   # an existing config: no "Wrote default config" line
version=$(XDG_CONFIG_HOME=$WORK/xdg-config XDG_DATA_HOME=$WORK/xdg-data "$BIN" --version --config "$WORK/version-check.yaml" | tail -1)
case $version in "$CS_VERSION "*) ;; *) echo "install-code-server: unexpected version: $version" >&2; exit 1 ;; esac
touch "$STAMP"
log "code-server $version ready after $((SECONDS - T0)) s ($(du -sh "$DEST" | cut -f1))"
