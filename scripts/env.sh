# Sourced by the project's scripts: caches outside the clone, so CI stays fast and the clone
# stays clean.
export STRAIT_CACHE=${STRAIT_CACHE:-$HOME/.cache/strait}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$STRAIT_CACHE/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
