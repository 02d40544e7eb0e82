#!/usr/bin/env bash
# The offline archive of `make dist` installs and runs with every package index switched off
# (CI): unpack it into a temporary directory, `make install` with pip and uv told to stay offline
# and any outside connection sent to a dead proxy, then check, migrate, a report with its PDF
# (the bundled font), and the web server answering pages, static assets and the API.
# Usage: scripts/offline_smoke.sh dist/sunshine-….tar.gz
set -euo pipefail
archive=$(realpath "$1")
work=$(mktemp -d)
web=""
cleanup() {
  if [ -n "$web" ]; then kill "$web" 2>/dev/null || true; wait "$web" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
tar -xzf "$archive" -C "$work"
cd "$work"/sunshine-*
unset DATABASE_URL VIRTUAL_ENV REDIS_URL CACHE_URL
export PIP_NO_INDEX=1 UV_OFFLINE=1 NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9

make install
.venv/bin/python manage.py check
make migrate
pdf=$(.venv/bin/python manage.py generate_report --period 2026-11-01 | grep '\.pdf$')
grep -aq "NotoSansSC-Regular" "$pdf"

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/python -m gunicorn sunshine.wsgi:application --bind "127.0.0.1:$port" --workers 1 --log-level warning &
web=$!
.venv/bin/python - "$port" <<'PY'
import sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for _ in range(120):
    try:
        home = opener.open(base + "/", timeout=5).read().decode()
        break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("the web server did not answer")
assert "阳光业扩" in home, home[:500]
assert opener.open(base + "/static/vendor/echarts/echarts.min.js", timeout=10).status == 200
assert b"lv_residential" in opener.open(base + "/api/v1/public/time-limits", timeout=10).read()
print("offline archive: installed, migrated, a report PDF with the bundled font, pages served")
PY
