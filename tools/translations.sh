#!/usr/bin/env bash
# Extract, update and compile the portal's translations with pybabel.
#
#   tools/translations.sh extract          write portal/translations/messages.pot from the sources
#   tools/translations.sh update [LOCALE]  extract, then merge the template into every catalogue
#                                          (or create LOCALE's catalogue if it does not exist yet)
#   tools/translations.sh compile          build the .mo files the app loads
#
# Works from any directory. Uses the repository's .venv if pybabel is not already on PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v pybabel >/dev/null 2>&1 && [ -x "$ROOT/.venv/bin/pybabel" ]; then
  PATH="$ROOT/.venv/bin:$PATH"
fi

TRANSLATIONS="portal/translations"
POT="$TRANSLATIONS/messages.pot"
# Keep in step with babel.cfg and tests/test_translations.py.
KEYWORDS=(-k _ -k _l -k N_ -k lazy_gettext -k gettext -k ngettext:1,2)

extract() {
  mkdir -p "$TRANSLATIONS"
  pybabel extract -F babel.cfg "${KEYWORDS[@]}" --no-wrap -o "$POT" .
}

update() {
  extract
  local locale="${1:-}"
  if [ -n "$locale" ] && [ ! -f "$TRANSLATIONS/$locale/LC_MESSAGES/messages.po" ]; then
    pybabel init -i "$POT" -d "$TRANSLATIONS" -l "$locale" --no-wrap
  fi
  if compgen -G "$TRANSLATIONS/*/LC_MESSAGES/messages.po" >/dev/null; then
    pybabel update -i "$POT" -d "$TRANSLATIONS" --no-wrap --ignore-obsolete
  fi
}

compile() {
  pybabel compile -d "$TRANSLATIONS" --statistics
}

usage() {
  echo "usage: $0 {extract|update [LOCALE]|compile}" >&2
  exit 2
}

case "${1:-}" in
  extract) extract ;;
  update) shift; update "${1:-}" ;;
  compile) compile ;;
  *) usage ;;
esac
