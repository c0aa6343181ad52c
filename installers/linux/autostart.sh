#!/bin/sh
# Start shopdesk when this user logs in (on), or not (off): an XDG autostart entry in ~/.config/autostart.
#   ./autostart.sh on|off
set -eu
DIR=${XDG_CONFIG_HOME:-$HOME/.config}/autostart
case "${1:-}" in
  on)  mkdir -p "$DIR"
       EXE=$(command -v shopdesk || echo /opt/shopdesk/bundle/shopdesk)
       printf '[Desktop Entry]\nType=Application\nName=shopdesk\nExec=%s\nIcon=shopdesk\nX-GNOME-Autostart-enabled=true\n' "$EXE" > "$DIR/shopdesk.desktop"
       echo "shopdesk will start at login ($DIR/shopdesk.desktop)" ;;
  off) rm -f "$DIR/shopdesk.desktop"; echo "shopdesk will no longer start at login" ;;
  *)   echo "usage: $0 on|off" >&2; exit 2 ;;
esac
