#!/bin/sh
# scripts/debian-mirror.sh [SUITE]: the URI of the Debian archive that serves SUITE (default
# bookworm) in this machine's apt sources: /etc/apt/sources.list and /etc/apt/sources.list.d/*.list
# (one-line format) and *.sources (deb822). The first `deb` source listing the suite wins; exit 1
# when none does. The tests and docs never name a mirror host: they use the machine's.
#   scripts/debian-mirror.sh                     -> e.g. http://<mirror>/debian
#   scripts/debian-mirror.sh bookworm-security   -> e.g. http://<mirror>/debian-security
set -eu
suite=${1:-bookworm}
dir=${APT_SOURCES_DIR:-/etc/apt}
files=""
[ -f "$dir/sources.list" ] && files="$dir/sources.list"
for f in "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
  [ -f "$f" ] && files="$files $f"
done
[ -n "$files" ] || { echo "debian-mirror: no apt sources under $dir" >&2; exit 1; }
# shellcheck disable=SC2086
uri=$(awk -v want="$suite" '
  function flush() {
    if (found) return
    if (types ~ /(^| )deb( |$)/ && suites != "" && uris != "") {
      n = split(suites, s, " ")
      for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, " "); print u[1]; found = 1; exit }
    }
    types = ""; uris = ""; suites = ""
  }
  FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
  deb822 && /^[ \t]*#/ { next }
  deb822 && /^[ \t]*$/ { flush(); next }
  { sub(/#.*/, "") }
  deb822 && tolower($1) == "types:" { $1 = ""; types = $0; gsub(/^ +/, "", types) }
  deb822 && tolower($1) == "uris:" { $1 = ""; uris = $0; gsub(/^ +/, "", uris) }
  deb822 && tolower($1) == "suites:" { $1 = ""; suites = $0; gsub(/^ +/, "", suites) }
  deb822 && tolower($1) == "enabled:" && tolower($2) == "no" { types = "" }
  !deb822 && $1 == "deb" {
    i = 2
    if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
    if ($(i + 1) == want) { print $i; found = 1; exit }
  }
  END { flush() }
' $files)
[ -n "$uri" ] || { echo "debian-mirror: no deb source for suite $suite in $files" >&2; exit 1; }
echo "${uri%/}"
