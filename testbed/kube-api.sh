#!/usr/bin/env bash
# The Kubernetes API mock the config provider tests run (tests/java/KubeApiMock.java): fabric8's
# kubernetes-server-mock, resolved from Maven Central by testbed/kube-api/pom.xml.
#
#   testbed/kube-api.sh fetch    resolve the jars into the cache (idempotent); print their folder
#
# Jars and Maven's repository live outside the clone, in $STRAIT_CACHE (default
# ~/.cache/strait) and ~/.m2, as for the Kafka test bed. The tests start and stop the mock
# themselves, each on a free 127.0.0.1 port.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=$(sed -n 's:.*<fabric8.version>\(.*\)</fabric8.version>.*:\1:p' "$HERE/kube-api/pom.xml")
CACHE=${STRAIT_CACHE:-$HOME/.cache/strait}
LIBS="$CACHE/kube-api-mock-$VERSION/libs"

die() { printf '[kube-api] error: %s\n' "$*" >&2; exit 1; }

cmd_fetch() {
  if [[ ! -f "$LIBS/.complete" ]]; then
    command -v mvn >/dev/null || die "mvn not found: install Maven (Debian package 'maven')"
    printf '[kube-api] resolving fabric8 kubernetes-server-mock %s into %s\n' "$VERSION" "$LIBS" >&2
    rm -rf "$LIBS"
    mkdir -p "$LIBS"
    mvn -q -B -f "$HERE/kube-api/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >&2
    ls "$LIBS"/kubernetes-server-mock-"$VERSION".jar >/dev/null \
      || die "Maven did not deliver kubernetes-server-mock $VERSION"
    touch "$LIBS/.complete"
  fi
  echo "$LIBS"
}

case "${1:-help}" in
  fetch) cmd_fetch ;;
  *) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ ${1:-help} == help ]] ;;
esac
