#!/bin/bash
# fortuneloop.sh INTERVAL — every INTERVAL seconds, write a fortune to
# /var/htdocs/index.html (the folder a web server shares through a volume).
#   $0 is the script itself, $1 the first argument: `fortuneloop.sh 30` → INTERVAL=30.
# In the image, ENTRYPOINT is this script and CMD ["10"] its default argument, so a
# pod's `args` replaces the 10 and a pod's `command` replaces the script.
set -u

HTDOCS=/var/htdocs
INTERVAL="${1:-}"

if [[ -z "$INTERVAL" ]]; then
    echo "fortuneloop: no interval given: usage: fortuneloop.sh SECONDS (e.g. args: [\"2\"])" >&2
    exit 2
fi
if ! [[ "$INTERVAL" =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ "$INTERVAL" =~ ^0*(\.0*)?$ ]]; then
    echo "fortuneloop: the interval must be a positive number of seconds, got '$INTERVAL'" >&2
    if [[ "$INTERVAL" == *'$'* ]]; then
        echo "fortuneloop: (a variable left unexpanded? in args Kubernetes expands only the \$(NAME) form, and only for a variable in the container's env)" >&2
    fi
    exit 2
fi

sleeper=
stop() {
    echo "fortuneloop: $1 received, stopping"
    [[ -n "$sleeper" ]] && kill "$sleeper" 2> /dev/null
    exit 0
}
trap 'stop SIGTERM' TERM
trap 'stop SIGINT' INT

mkdir -p "$HTDOCS"
echo "fortuneloop: writing a fortune to $HTDOCS/index.html every $INTERVAL s"
while true; do
    echo "$(date) writing fortune to $HTDOCS/index.html"
    # Write aside, then rename: a reader never sees a half-written page.
    /usr/games/fortune > "$HTDOCS/.index.html.new" && mv -f "$HTDOCS/.index.html.new" "$HTDOCS/index.html"
    # sleep in the background and wait for it, so SIGTERM is handled at once.
    sleep "$INTERVAL" &
    sleeper=$!
    wait "$sleeper"
    sleeper=
done
